// Runs one of the project's servers (engine simulator, router) as a child of
// this process, for tests and benchmarks that kill it, signal it or read its log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ENGINE_SIM_MAIN = fileURLToPath(new URL('../../engine-sim/src/main.js', import.meta.url));
export const ROUTER_MAIN = fileURLToPath(new URL('../../router/src/main.js', import.meta.url));

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Everything the process printed on stdout so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node main args` and waits for its "listening on URL" line. */
export function startChildServer(main: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildServer> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        resolve({
          url: m[1], child, exited, output: () => out,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`${main} exited (${code}) before listening: ${out}`)));
  });
}
