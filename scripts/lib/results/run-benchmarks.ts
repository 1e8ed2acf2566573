// Everything a run holds about its benchmarks, per workload and node, for the
// report and make vllm-results; and its baseline-vs-dev comparison.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Thresholds } from '../compare/compare.js';
import type { Comparison } from '../compare/comparison.js';
import type { NodeSeries } from '../vocabulary/bench-result.js';
import { benchWorkloads, readBenchResult, readSamples } from './bench-files.js';
import { BASELINE_NODE, compareRuns, DEV_NODE } from './compare-runs.js';
import { readRun, type RunRecord } from './run-store.js';

export async function runNodes(resultsDir: string, runId: string): Promise<string[]> {
  const entries = await readdir(join(resultsDir, runId), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** Per workload, the nodes of the run that benchmarked it (baseline first). */
export async function runBenchmarks(resultsDir: string, runId: string, withSamples = true): Promise<{ run: RunRecord; workloads: Map<string, NodeSeries[]> }> {
  const run = await readRun(resultsDir, runId);
  const workloads = new Map<string, NodeSeries[]>();
  for (const node of await runNodes(resultsDir, runId)) {
    const ref = { runId, node };
    for (const workload of await benchWorkloads(resultsDir, ref)) {
      const series = { node, result: await readBenchResult(resultsDir, ref, workload), samples: withSamples ? await readSamples(resultsDir, ref, workload) : [] };
      workloads.set(workload, [...(workloads.get(workload) ?? []), series]);
    }
  }
  return { run, workloads };
}

/** The run's compare.json, or the comparison made now when it has baseline and dev benchmarks but none was written. */
export async function runComparison(resultsDir: string, runId: string, workloads: Map<string, NodeSeries[]>, thresholds: Thresholds): Promise<Comparison | null> {
  try {
    return JSON.parse(await readFile(join(resultsDir, runId, 'compare.json'), 'utf8')) as Comparison;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const both = [...workloads.values()].some((s) => s.some((x) => x.node === BASELINE_NODE) && s.some((x) => x.node === DEV_NODE));
  return both ? compareRuns(resultsDir, { base: { runId, node: BASELINE_NODE }, dev: { runId, node: DEV_NODE } }, thresholds) : null;
}

/** The run's comparisons with earlier runs (compare-<base run>.json, written by make vllm-compare), oldest base first. */
export async function runHistory(resultsDir: string, runId: string): Promise<Comparison[]> {
  const files = (await readdir(join(resultsDir, runId))).filter((f) => /^compare-\d{8}-\d{6}-[0-9a-f]{4}\.json$/.test(f)).sort();
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(resultsDir, runId, f), 'utf8')) as Comparison));
}
