// One command at a time per node. Everything that changes a node's deployment
// (deploy, teardown, cleanup) or perturbs or measures it (smoke, suites,
// benchmark) runs inside withNodeLock, so that two commands never interleave:
//
//   await withNodeLock(spec, 'make vllm-benchmark', async () => { ... });
//
// The second command is refused at once with a message naming the holder and
// its pid, or waits up to `waitMs` first. The lock is a file beside the node's
// deployment record (<project>/.deployed/<node>.lock) holding the holder's pid
// and start time, so a holder that died (kill -9, power loss) is recognised and
// its lock taken over. It is re-entrant down a process tree: `make vllm` takes
// the lock of every node in its controller-side process, and the node-side
// steps Ansible starts beneath it (deploy, smoke, suites, benchmark) find their
// own ancestor holding it and go ahead; a step run by hand takes it itself.
// Such a step lives no longer than the lock it borrows: when the holder is gone
// (killed with SIGKILL, so that it could not stop its run), the step is sent
// SIGTERM, which the suites answer by undoing their faults; and a step started
// for a holder that is gone already (the rest of an orphaned playbook) refuses
// to run rather than take the lock over.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processLineage, processStartTime } from '../stack/process-control.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** What locates a node's lock and record: its name and the project's state dir. */
export interface NodeRef {
  node: string;
  stateDir: string;
}

export interface LockHolder {
  pid: number;
  /** Start time of the holding process (/proc/<pid>/stat), so a recycled pid is not mistaken for it. */
  start: string;
  host: string;
  /** What the holder is doing, as a user would type it: "make vllm", "make vllm-benchmark". */
  command: string;
  since: string;
}

export class NodeBusyError extends Error {
  readonly code = 'NODE_BUSY';
  constructor(readonly node: string, readonly holder: LockHolder, waitedMs: number) {
    const age = Math.round((Date.now() - Date.parse(holder.since)) / 1000);
    super(`node ${node} is busy: "${holder.command}" (pid ${holder.pid}) has held it since ${holder.since} (${age} s)`
      + `${waitedMs > 0 ? `, and did not finish within ${Math.round(waitedMs / 1000)} s` : ''}; `
      + `run this again when it has finished, or stop it (kill ${holder.pid})`);
    this.name = 'NodeBusyError';
  }
}

export function lockFile(ref: NodeRef): string {
  return join(ref.stateDir, `${ref.node}.lock`);
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable: not written by this code (the lock file appears whole, by link()).
    throw new Error(`${path} is not a node lock written by this harness (${(err as Error).message}); remove it and run the command again`);
  }
}

/** True while the holder's process exists (it may be on another machine: then assume it does). */
function alive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  return processStartTime(holder.pid) === holder.start;
}

/** The live holder of a node's lock, or null when the node is free. */
export async function lockHolder(ref: NodeRef): Promise<LockHolder | null> {
  const holder = await readHolder(lockFile(ref));
  return holder && alive(holder) ? holder : null;
}

/** How often a step that borrows an ancestor's lock checks that the ancestor still runs. */
const HOLDER_POLL_MS = 1000;
/** Set by the lock's holder for the steps it starts (vllm-playbook): "<pid> <start time>". */
export const LOCK_HOLDER_ENV = 'VLLM_LOCK_HOLDER';

export function holderEnv(): string {
  const self = processLineage()[0];
  return self ? `${self.pid} ${self.start}` : '';
}

/**
 * Takes the node's lock (or finds that this process or an ancestor holds it),
 * returning the release function. Throws NodeBusyError when another live
 * process holds it after waitMs.
 */
export async function acquireNodeLock(ref: NodeRef, command: string, opts: { waitMs?: number; pollMs?: number } = {}): Promise<() => Promise<void>> {
  const path = lockFile(ref);
  const lineage = processLineage();
  const self = lineage[0];
  if (!self) throw new Error('cannot read /proc/self/stat: node locks need Linux /proc');
  const mine: LockHolder = { pid: self.pid, start: self.start, host: hostname(), command, since: new Date().toISOString() };
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const [startedForPid, startedForStart] = (process.env[LOCK_HOLDER_ENV] ?? '').split(' ');
  if (startedForPid && processStartTime(Number(startedForPid)) !== startedForStart) {
    throw new Error(`node ${ref.node}: the command that started this step (pid ${startedForPid}) has ended, so this step does not run (it would measure or change the node unlocked); run the command again`);
  }
  await mkdir(ref.stateDir, { recursive: true });
  for (;;) {
    // link() creates the lock whole or fails with EEXIST: no reader sees half a file, no two writers both win.
    const tmp = `${path}.${self.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(mine, null, 2) + '\n');
    try {
      await link(tmp, path);
      return async () => {
        const now = await readHolder(path).catch(() => null);
        if (now?.pid === mine.pid && now.start === mine.start) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    const holder = await readHolder(path);
    if (holder === null) continue;
    if (holder.host === mine.host && lineage.some((p) => p.pid === holder.pid && p.start === holder.start)) {
      const watch = setInterval(() => {
        if (alive(holder)) return;
        clearInterval(watch);
        process.stderr.write(`node ${ref.node}: "${holder.command}" (pid ${holder.pid}), whose lock this step runs under, has ended; stopping\n`);
        process.kill(process.pid, 'SIGTERM');
      }, HOLDER_POLL_MS);
      watch.unref();
      return async () => clearInterval(watch);
    }
    if (!alive(holder)) {
      // Its holder died: take the lock over, unless someone else already did.
      const again = await readHolder(path);
      if (again?.pid === holder.pid && again.start === holder.start) await rm(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) throw new NodeBusyError(ref.node, holder, opts.waitMs ?? 0);
    await sleep(opts.pollMs ?? 200);
  }
}

/** Runs fn holding the node's lock; see the top of this file. */
export async function withNodeLock<T>(ref: NodeRef, command: string, fn: () => Promise<T>, opts: { waitMs?: number; pollMs?: number } = {}): Promise<T> {
  const release = await acquireNodeLock(ref, command, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
