// One node's regression history: the runs that hold a benchmark of a node,
// newest last, and the one a run is naturally compared with (the previous
// run of the same configuration).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readRun } from './run-store.js';

export interface BenchRun {
  runId: string;
  /** run.json's config_hash: the same for runs of one configuration. */
  configHash: string;
}

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

/** Runs with a bench/ folder for the node, oldest first. */
export async function runsWithBenchmark(resultsDir: string, node: string): Promise<BenchRun[]> {
  const ids = (await readdir(resultsDir).catch(() => [] as string[])).filter((d) => RUN_ID.test(d)).sort();
  const out: BenchRun[] = [];
  for (const runId of ids) {
    const has = await stat(join(resultsDir, runId, node, 'bench')).then((s) => s.isDirectory(), () => false);
    if (!has) continue;
    const run = await readRun(resultsDir, runId).catch(() => null);
    if (run) out.push({ runId, configHash: run.config_hash });
  }
  return out;
}

/** The newest run before `runId` of the same configuration, or null. */
export function previousOf(runs: BenchRun[], runId: string): BenchRun | null {
  const at = runs.findIndex((r) => r.runId === runId);
  const self = runs[at];
  if (!self) return null;
  for (let i = at - 1; i >= 0; i--) if (runs[i]!.configHash === self.configHash) return runs[i]!;
  return null;
}
