// Running a program and finding one on PATH, for the tools every make target
// starts (node steps, status, results). zx does this too, but loading it costs
// about a quarter of a second of CPU per process, several times per `make vllm`.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args`; never throws for a non-zero exit (see exitCode), only when it cannot start. */
export function exec(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = (err as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code;
      if (err && typeof code === 'string') return reject(new Error(`cannot run ${command}: ${err.message}`));
      resolve({ exitCode: err ? (typeof code === 'number' ? code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Like exec, but a non-zero exit is an error carrying the program's stderr. */
export async function execOk(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const out = await exec(command, args, opts);
  if (out.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}`);
  return out.stdout;
}

/** The path of an executable on PATH, or null. */
export async function onPath(name: string, path: string = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}
