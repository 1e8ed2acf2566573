// make vllm-compare's work on the results tree: which runs and nodes, their
// common workloads, the comparison, and compare.json written beside them.
import { join } from 'node:path';
import { compareWorkload, type Thresholds } from '../compare/compare.js';
import { comparison, type Comparison } from '../compare/comparison.js';
import { writeJsonAtomic } from '../atomic-write.js';
import { benchWorkloads, parseRunRef, readBenchResult, readSamples, resolveRunId, type RunRef } from './bench-files.js';
import { previousOf, runsWithBenchmark } from './previous-run.js';
import { assertValid } from './schemas.js';

export const BASELINE_NODE = 'vllm-baseline';
export const DEV_NODE = 'vllm-dev';

/**
 * BASE and DEV as users give them. With two nodes configured (A/B), the
 * default is the latest run's baseline vs its dev; two different runs without
 * nodes: the baseline node of each. With one node configured, comparing means
 * comparing runs: the default is its latest benchmarked run against the
 * previous one of the same configuration, and BASE or DEV alone is compared
 * with the latest (or the one before DEV).
 */
export async function resolveSides(resultsDir: string, base: string, dev: string, configuredNodes: string[] = [BASELINE_NODE, DEV_NODE]): Promise<{ base: RunRef; dev: RunRef }> {
  const b = parseRunRef(base);
  const d = parseRunRef(dev);
  if (configuredNodes.length === 1) return resolveOneNode(resultsDir, b, d, configuredNodes[0]!);
  const baseRun = await resolveRunId(resultsDir, b.run);
  const devRun = await resolveRunId(resultsDir, d.run === '' ? baseRun : d.run);
  const sameRun = baseRun === devRun;
  return {
    base: { runId: baseRun, node: b.node ?? BASELINE_NODE },
    dev: { runId: devRun, node: d.node ?? (sameRun ? DEV_NODE : b.node ?? BASELINE_NODE) },
  };
}

type Ref = { run: string; node: string | null };

async function resolveOneNode(resultsDir: string, b: Ref, d: Ref, configured: string): Promise<{ base: RunRef; dev: RunRef }> {
  const node = d.node ?? b.node ?? configured;
  const runs = await runsWithBenchmark(resultsDir, node);
  const newest = runs.at(-1);
  if (!newest) throw new Error(`no run in ${resultsDir} has a benchmark of ${node} yet: run make vllm-benchmark twice (the first run is the reference), then make vllm-compare`);
  // "latest" means the newest benchmark of the node: a suites-only run (make vllm-test) has none.
  const pick = async (ref: string) => (ref === '' || ref === 'latest' ? newest.runId : resolveRunId(resultsDir, ref));
  const devRun = d.run === '' && b.run !== '' ? newest.runId : await pick(d.run);
  let baseRun: string;
  if (b.run !== '') baseRun = await pick(b.run);
  else {
    const previous = previousOf(runs, devRun);
    if (!previous) {
      const others = runs.filter((r) => r.runId !== devRun).slice(-5).map((r) => r.runId);
      throw new Error(`run ${devRun} is the only benchmark of ${node} with this configuration: run make vllm-benchmark again for a second one to compare with`
        + (others.length > 0 ? `, or compare with a run of another configuration: make vllm-compare BASE=${others.at(-1)} (runs with a benchmark of ${node}: ${others.join(', ')})` : ''));
    }
    baseRun = previous.runId;
  }
  return { base: { runId: baseRun, node: b.node ?? node }, dev: { runId: devRun, node: d.node ?? node } };
}

export const refText = (r: RunRef): string => `${r.runId}:${r.node}`;

export async function compareRuns(resultsDir: string, sides: { base: RunRef; dev: RunRef }, thresholds: Thresholds, resamples?: number): Promise<Comparison> {
  const { base, dev } = sides;
  if (base.runId === dev.runId && base.node === dev.node) throw new Error(`BASE and DEV are both ${refText(base)}; compare two nodes or two runs`);
  const baseWorkloads = await benchWorkloads(resultsDir, base);
  const devWorkloads = await benchWorkloads(resultsDir, dev);
  const common = baseWorkloads.filter((w) => devWorkloads.includes(w));
  const notes: string[] = [];
  for (const w of baseWorkloads.filter((x) => !common.includes(x))) notes.push(`${w} is only in the baseline (${refText(base)}); not compared`);
  for (const w of devWorkloads.filter((x) => !common.includes(x))) notes.push(`${w} is only in dev (${refText(dev)}); not compared`);
  if (common.length === 0) {
    throw new Error(`nothing to compare: ${refText(base)} has ${baseWorkloads.length > 0 ? `benchmarks ${baseWorkloads.join(', ')}` : 'no benchmark'}, ${refText(dev)} has ${devWorkloads.length > 0 ? devWorkloads.join(', ') : 'none'}; run make vllm-benchmark`);
  }
  const metrics = [];
  for (const workload of common) {
    const [br, dr] = [await readBenchResult(resultsDir, base, workload), await readBenchResult(resultsDir, dev, workload)];
    for (const r of [br, dr]) {
      if (r.client.saturated) notes.push(`${workload} on ${r.node}: the benchmark client was saturated; its figures may measure the client`);
    }
    if (JSON.stringify(br.params) !== JSON.stringify(dr.params)) notes.push(`${workload}: the two sides ran with different parameters (${JSON.stringify(br.params)} vs ${JSON.stringify(dr.params)})`);
    metrics.push(...compareWorkload(workload,
      { samples: await readSamples(resultsDir, base, workload), slo: br.slo },
      { samples: await readSamples(resultsDir, dev, workload), slo: dr.slo }, thresholds, resamples));
  }
  return comparison(refText(base), refText(dev), thresholds, metrics, notes, resamples);
}

/** compare.json for a run's own baseline vs dev; compare-<base-run>.json when comparing across runs. */
export function compareFile(resultsDir: string, sides: { base: RunRef; dev: RunRef }): string {
  const name = sides.base.runId === sides.dev.runId ? 'compare.json' : `compare-${sides.base.runId}.json`;
  return join(resultsDir, sides.dev.runId, name);
}

export async function writeComparison(file: string, c: Comparison): Promise<void> {
  assertValid('compare', c, file);
  await writeJsonAtomic(file, c);
}
