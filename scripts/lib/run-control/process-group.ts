// A command run in a process group of its own, so that it and everything it
// starts (ansible-playbook, its forked workers, the node steps they run) can be
// signalled and waited for as one: an interrupted run leaves no orphan behind
// holding nothing. The stacks a deploy starts are detached in sessions of their
// own (stack/process-control.ts) and are not part of the group.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GroupRun {
  /** The command's exit code (128 + signal number when a signal ended it). */
  exited: Promise<number>;
  /** Sends the signal to every process of the group (once per signal name). */
  signal(sig: NodeJS.Signals): void;
  /** Resolves once no process of the group is left; after `graceMs`, SIGKILLs what is. True when it had to. */
  drain(graceMs: number, pollMs?: number): Promise<boolean>;
}

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** True while some process of the group exists (a zombie awaiting its parent counts). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the command with this terminal's stdio, as the leader of a new process
 * group (detached: a session of its own, so the terminal's Ctrl-C reaches it
 * only through signal()).
 */
export function runInGroup(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onSpawnError?: (err: Error) => void } = {}): GroupRun {
  const child: ChildProcess = spawn(command, args, { stdio: 'inherit', detached: true, env: opts.env ?? process.env });
  const sent = new Set<NodeJS.Signals>();
  const exited = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      opts.onSpawnError?.(err);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? SIGNAL_NUMBER[signal] ?? 1 : 1)));
  });
  const pgid = child.pid;
  const kill = (sig: NodeJS.Signals) => {
    if (pgid === undefined) return;
    try {
      process.kill(-pgid, sig);
    } catch {
      // The group is gone already.
    }
  };
  return {
    exited,
    signal(sig) {
      // A signal sent twice (make forwards TERM down its chain, and a kill of make's group
      // reaches every level) must not count as the "second Ctrl-C" that makes a step skip its undo.
      if (sent.has(sig)) return;
      sent.add(sig);
      kill(sig);
    },
    async drain(graceMs, pollMs = 100) {
      if (pgid === undefined) return false;
      await exited;
      const deadline = Date.now() + graceMs;
      while (groupAlive(pgid)) {
        if (Date.now() >= deadline) {
          kill('SIGKILL');
          await sleep(pollMs);
          return true;
        }
        await sleep(pollMs);
      }
      return false;
    },
  };
}
