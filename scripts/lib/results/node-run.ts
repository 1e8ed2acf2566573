// A node's side of a run: <work dir>/runs/<run-id>/, filled by the node-side
// tool step by step and shipped to the controller as one tarball.
import { join } from 'node:path';
import { writeJsonAtomic } from './atomic-write.js';
import { assertRunId } from './run-id.js';
import type { StepRecord } from './verdict.js';

export function nodeRunDir(workDir: string, runId: string): string {
  return join(workDir, 'runs', assertRunId(runId));
}

/** Runs one step and records whether it passed, then passes its result or error on. */
export async function recordStep<T>(runDir: string, step: string, work: () => Promise<T>): Promise<T> {
  const startedAt = new Date().toISOString();
  const file = join(runDir, 'steps', `${step}.json`);
  try {
    const result = await work();
    await writeJsonAtomic(file, { step, passed: true, startedAt, finishedAt: new Date().toISOString() } satisfies StepRecord);
    return result;
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    await writeJsonAtomic(file, { step, passed: false, startedAt, finishedAt: new Date().toISOString(), error } satisfies StepRecord);
    throw err;
  }
}
