// A node's side of a run: <work dir>/runs/<run-id>/, filled by the node-side
// tool step by step and shipped to the controller as one tarball.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeJsonAtomic } from '../atomic-write.js';
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

// Where a run's first step noted how long each log of the node was, so that the
// run's results hold only what was written during the run. Not packed.
export const LOG_START_FILE = '.log-start.json';

async function logSizes(logsDir: string): Promise<Record<string, number>> {
  let files: string[];
  try {
    files = (await readdir(logsDir)).filter((f) => f.endsWith('.log'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  return Object.fromEntries(await Promise.all(files.map(async (f) => [f, (await stat(join(logsDir, f))).size] as const)));
}

/** Notes where the node's logs end as the run begins; later steps of the same run keep the first note. */
export async function markRunStart(runDir: string, logsDir: string): Promise<void> {
  const file = join(runDir, LOG_START_FILE);
  if (await stat(file).catch(() => null)) return;
  await writeJsonAtomic(file, await logSizes(logsDir));
}

/** Copies what each log gained since the run began into <runDir>/logs/ (logs that gained nothing are left out); returns the files copied. */
export async function copyRunLogs(runDir: string, logsDir: string): Promise<string[]> {
  let start: Record<string, number> = {};
  try {
    start = JSON.parse(await readFile(join(runDir, LOG_START_FILE), 'utf8')) as Record<string, number>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const sizes = await logSizes(logsDir);
  const copied: string[] = [];
  for (const [file, size] of Object.entries(sizes)) {
    // A log shorter than at the start was replaced (cleanup): all of it is this run's.
    const from = (start[file] ?? 0) <= size ? start[file] ?? 0 : 0;
    // A log that gained nothing belongs to a process of another run.
    if (size === from) continue;
    copied.push(file);
    const dest = join(runDir, 'logs', file);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.tmp`;
    // Streamed: a long benchmark's router log can be large. `end` is inclusive.
    await pipeline(createReadStream(join(logsDir, file), { start: from, end: size - 1 }), createWriteStream(tmp));
    await rename(tmp, dest);
  }
  return copied.sort();
}
