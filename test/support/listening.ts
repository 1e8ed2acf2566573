// Programs of the project started as the tests' real processes: each prints
// "listening on http://HOST:PORT" once it serves; its output is kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface Listening {
  child: ChildProcess;
  port: number;
  /** stdout and stderr so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** timeoutMs bounds a hang, not a speed: a loaded 2-core machine takes seconds to load the router with its Kubernetes client. */
export async function startListening(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Listening> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => { out += c; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not listen within ${timeoutMs} ms: ${out}`)), timeoutMs);
    child.stdout?.on('data', (c: string) => {
      out += c;
      const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code}: ${out}`));
    });
  });
  return {
    child, port,
    output: () => out,
    stop: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, 'exit');
    },
  };
}

/** Runs a program to its end: exit code and output. */
export async function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output: out };
}
