// Processes that outlive the command that started them: detached, logged to a
// file, remembered by a pid file, and recognised again by a marker in their
// command line so that a recycled pid is never mistaken for ours.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { exec, type ExecResult } from '../exec.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}

export interface PidRecord {
  pid: number;
  // Consecutive arguments that only this process has on its command line.
  marker: string[];
  command: string;
  startedAt: string;
  /** A command run once the process is gone, to remove what it leaves behind (an engine container). */
  cleanup?: string[];
}

export async function startDetached(spec: ProcessSpec, marker: string[], cleanup?: string[]): Promise<PidRecord> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  await mkdir(dirname(spec.pidFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${spec.command}: ${err.message}`)));
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    const record: PidRecord = { pid, marker, command: [spec.command, ...spec.args].join(' '), startedAt: new Date().toISOString(), ...(cleanup ? { cleanup } : {}) };
    await writeFileAtomic(spec.pidFile, JSON.stringify(record, null, 2) + '\n');
    return record;
  } finally {
    closeSync(log);
  }
}

export async function readPidFile(pidFile: string): Promise<PidRecord | null> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(text) as PidRecord;
  if (!Number.isInteger(parsed.pid) || !Array.isArray(parsed.marker)) {
    throw new Error(`${pidFile} is not a pid file written by this harness; remove it and run the command again`);
  }
  return parsed;
}

/** True when the pid runs and is the process the record describes. */
export function isRunning(record: PidRecord): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  // Whole-argument match, so that "engine-1" never matches "engine-10".
  if (!`\0${cmdline}`.includes(`\0${record.marker.join('\0')}\0`)) return false;
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised name) is the state; Z = exited but not reaped.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The fields of /proc/<pid>/stat after the parenthesised name, or null when the pid is gone. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * When the process started (clock ticks since boot), or null when it is gone or
 * exited: with the pid, it names one process even after the pid is recycled.
 */
export function processStartTime(pid: number): string | null {
  const fields = procStat(pid);
  // fields[0] is the state (Z = exited, not reaped), fields[19] the start time (stat field 22).
  return fields && fields[0] !== 'Z' ? fields[19] ?? null : null;
}

/** This process and its ancestors, nearest first, each with its start time (ppid is stat field 4). */
export function processLineage(pid: number = process.pid): { pid: number; start: string }[] {
  const chain: { pid: number; start: string }[] = [];
  for (let p = pid; p > 0 && chain.length < 64;) {
    const fields = procStat(p);
    if (!fields?.[19]) break;
    chain.push({ pid: p, start: fields[19] });
    p = Number(fields[1]);
  }
  return chain;
}

/**
 * Whether a cleanup command did its job: removing what is already gone, or
 * going (the container's --rm beat us to it), is success; anything else is an error
 * carrying the program's own message.
 */
export function cleanupProblem(cleanup: string[], out: ExecResult): string | null {
  // docker's --rm may be removing it at the same moment: that ends the same way.
  if (out.exitCode === 0 || /no such container|removal of container \S+ is already in progress/i.test(out.stderr)) return null;
  return `${cleanup.join(' ')} failed (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}`;
}

async function runCleanup(record: PidRecord): Promise<void> {
  const cleanup = record.cleanup ?? [];
  const [command, ...args] = cleanup;
  if (command === undefined) return;
  const out = await exec(command, args).catch((err: Error) => {
    // Without the runtime there is no container left to remove.
    if (/ENOENT/.test(err.message)) return { exitCode: 0, stdout: '', stderr: '' };
    throw err;
  });
  const problem = cleanupProblem(cleanup, out);
  if (problem) throw new Error(`stopping ${record.command.split(' ')[0]} (pid ${record.pid}): ${problem}`);
}

/**
 * Stops a recorded process: SIGTERM and up to graceMs for it to exit, then
 * SIGKILL; 'kill' sends SIGKILL at once. Resolves once the process is gone
 * and its cleanup (if any) has run, which it does even when the process had
 * already exited.
 */
export async function stopProcess(record: PidRecord, how: 'graceful' | 'kill', graceMs = 10_000): Promise<void> {
  await signalUntilGone(record, how, graceMs);
  await runCleanup(record);
}

async function signalUntilGone(record: PidRecord, how: 'graceful' | 'kill', graceMs: number): Promise<void> {
  if (!isRunning(record)) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(record.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  if (how === 'graceful') {
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (!isRunning(record)) return;
      await sleep(50);
    }
  }
  signal('SIGKILL');
  for (let i = 0; i < 100 && isRunning(record); i++) await sleep(20);
  if (isRunning(record)) throw new Error(`process ${record.pid} (${record.command}) did not exit after SIGKILL`);
}

export async function removePidFile(pidFile: string): Promise<void> {
  await rm(pidFile, { force: true });
}
