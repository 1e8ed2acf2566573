// Reading a run's benchmark files back: results/<run-id>/<node>/bench/
// <workload>.json and its samples, and resolving the run references users
// type (latest, a run id, RUN:NODE).
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult } from '../vocabulary/bench-result.js';
import type { RequestSample } from '../vocabulary/request-sample.js';
import { assertRunId } from './run-id.js';

export interface RunRef {
  runId: string;
  node: string;
}

/** "latest" or a run id -> the run id; an unknown run is an error that lists what exists. */
export async function resolveRunId(resultsDir: string, ref: string): Promise<string> {
  if (ref === 'latest' || ref === '') {
    try {
      return assertRunId(await readlink(join(resultsDir, 'latest')));
    } catch {
      throw new Error(`no run in ${resultsDir} yet; run make vllm first`);
    }
  }
  assertRunId(ref);
  const runs = await readdir(resultsDir).catch(() => [] as string[]);
  if (!runs.includes(ref)) throw new Error(`no run ${ref} in ${resultsDir}; the newest are: ${runs.filter((r) => /^\d{8}-/.test(r)).sort().slice(-5).join(', ') || 'none'}`);
  return ref;
}

/** RUN[:NODE] as users write it; the node is null when not given. */
export function parseRunRef(text: string): { run: string; node: string | null } {
  const colon = text.indexOf(':');
  return colon < 0 ? { run: text, node: null } : { run: text.slice(0, colon), node: text.slice(colon + 1) };
}

export async function benchWorkloads(resultsDir: string, ref: RunRef): Promise<string[]> {
  const dir = join(resultsDir, ref.runId, ref.node, 'bench');
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const nodes = await readdir(join(resultsDir, ref.runId)).catch(() => [] as string[]);
    if (!nodes.includes(ref.node)) throw new Error(`run ${ref.runId} has no node ${ref.node}; it has: ${nodes.filter((n) => n.startsWith('vllm-')).join(', ') || 'no node results'}`);
    return [];
  }
}

export async function readBenchResult(resultsDir: string, ref: RunRef, workload: string): Promise<BenchResult> {
  return JSON.parse(await readFile(join(resultsDir, ref.runId, ref.node, 'bench', `${workload}.json`), 'utf8')) as BenchResult;
}

export async function readSamples(resultsDir: string, ref: RunRef, workload: string): Promise<RequestSample[]> {
  const text = await readFile(join(resultsDir, ref.runId, ref.node, 'bench', `${workload}.samples.jsonl`), 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as RequestSample);
}
