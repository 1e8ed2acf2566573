// Measuring tools for the component benchmarks (engine simulator, router):
// autocannon load runs summarised, percentiles of timed samples (the
// harness's own, as numpy and vllm bench serve compute them), the resident
// memory of a process, and a printable table.
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';

export { percentile } from '../../scripts/lib/quantile.js';

export interface LoadSummary {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Connection errors, timeouts and non-2xx answers: any of them spoils a figure. */
  failures: number;
}

export interface LoadRun {
  url: string;
  body: unknown;
  /** A body per request instead of the same one: the n-th request sends bodyFor(n). */
  bodyFor?: (n: number) => unknown;
  connections: number;
  seconds?: number;
  amount?: number;
}

/** One autocannon run of POSTs with a JSON body. */
export async function load(run: LoadRun): Promise<LoadSummary> {
  let n = 0;
  const bodyFor = run.bodyFor;
  const started = performance.now();
  let lastResponse = started;
  const options: autocannon.Options = {
    url: run.url, method: 'POST', connections: run.connections,
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(run.body),
    ...(bodyFor ? { requests: [{ method: 'POST', setupRequest: (r: autocannon.Request) => ({ ...r, body: JSON.stringify(bodyFor(n++)) }) }] } : {}),
    ...(run.amount ? { amount: run.amount } : { duration: run.seconds ?? 5 }),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, r) => (err ? reject(err as Error) : resolve(r)));
    instance.on('response', () => {
      lastResponse = performance.now();
    });
  });
  // Completed over elapsed, timed here: autocannon's own average is of whole-second samples, and a
  // run of a set amount of requests only ends at its next whole-second tick, after its last answer.
  const elapsed = run.amount ? (lastResponse - started) / 1000 : result.duration;
  return {
    requestsPerSec: result.requests.total / elapsed,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

/** CPU seconds (user + system) a live process has used, from /proc. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a live process in MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Runs cleanup when the benchmark is interrupted, so that no server it started is left running. */
export function cleanUpOnSignal(cleanup: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup().finally(() => process.exit(130));
    });
  }
}

/** Left-aligned first column, right-aligned figures. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ')).join('\n');
}
