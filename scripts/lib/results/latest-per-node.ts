// make vllm-results: for each node, its newest run's records: the steps, the
// smoke test, every suite and every benchmark figure.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult } from '../vocabulary/bench-result.js';
import { benchWorkloads, readBenchResult } from './bench-files.js';
import { readRun, readSteps } from './run-store.js';
import type { StepRecord } from './verdict.js';

/** A suite's result file as far as this view reads it (scripts/lib/suites writes it). */
export interface SuiteSummary {
  suite: string;
  status: string;
  duration_s?: number;
  cases: { name: string; status: string; summary?: string; reason?: string }[];
}

export interface NodeResults {
  node: string;
  run_id: string;
  steps: StepRecord[];
  smoke: Record<string, unknown> | null;
  suites: SuiteSummary[];
  bench: BenchResult[];
  /** Why the run lost this node (its results never came), from run.json. */
  lost?: string;
}

const RUN = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

async function json<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Node names of every run, each with the newest run that has a folder for it
 * or that lost it: a run that lost a node (run.json, nodes.<node>.lost) is that
 * node's newest, though its results never came.
 */
export async function latestPerNode(resultsDir: string): Promise<Map<string, string>> {
  const runs = (await readdir(resultsDir).catch(() => [] as string[])).filter((r) => RUN.test(r)).sort().reverse();
  const latest = new Map<string, string>();
  for (const run of runs) {
    const entries = await readdir(join(resultsDir, run), { withFileTypes: true });
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && !latest.has(e.name)) latest.set(e.name, run);
    const record = await readRun(resultsDir, run).catch(() => null);
    for (const [node, summary] of Object.entries(record?.nodes ?? {})) if (summary.lost && !latest.has(node)) latest.set(node, run);
  }
  return latest;
}

export async function nodeResults(resultsDir: string, node: string, runId: string): Promise<NodeResults> {
  const dir = join(resultsDir, runId, node);
  const suiteFiles = (await readdir(join(dir, 'suites')).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  const suites: SuiteSummary[] = [];
  for (const f of suiteFiles) {
    const s = await json<SuiteSummary>(join(dir, 'suites', f));
    if (s) suites.push({ suite: s.suite ?? f.slice(0, -5), status: s.status, duration_s: s.duration_s, cases: s.cases ?? [] });
  }
  const bench: BenchResult[] = [];
  // A lost node has no folder in the run: nothing of it came.
  if (existsSync(dir)) for (const w of await benchWorkloads(resultsDir, { runId, node })) bench.push(await readBenchResult(resultsDir, { runId, node }, w));
  const lost = (await readRun(resultsDir, runId).catch(() => null))?.nodes[node]?.lost?.reason;
  return { node, run_id: runId, steps: await readSteps(dir), smoke: await json(join(dir, 'smoke.json')), suites, bench, ...(lost ? { lost } : {}) };
}
