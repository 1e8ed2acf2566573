// Waiting for services with a deadline, progress, and an early exit when the
// process being waited for has already died (no point waiting ten minutes).
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Called about every 5 s while waiting, for progress lines. */
  onWait?: (elapsedMs: number) => void;
  /** Returns a reason when waiting can no longer succeed. */
  failure?: () => Promise<string | null> | string | null;
}

export async function waitUntil(ready: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const start = performance.now();
  const interval = opts.intervalMs ?? 100;
  let lastReport = start;
  for (;;) {
    if (await ready()) return;
    const failed = await opts.failure?.();
    if (failed) throw new Error(`${opts.what}: ${failed}`);
    const now = performance.now();
    if (now - start > opts.timeoutMs) {
      throw new Error(`${opts.what}: not ready after ${Math.round(opts.timeoutMs / 1000)} s`);
    }
    if (opts.onWait && now - lastReport >= 5000) {
      lastReport = now;
      opts.onWait(now - start);
    }
    await sleep(interval);
  }
}

/**
 * GET a URL of the stack (router, engine, Prometheus: plain HTTP) with a
 * deadline: the status code and body, or null on any failure. node:http rather
 * than fetch: fetch's first use loads undici and compiles its WebAssembly
 * parser, a tenth of a second of CPU that status, run after every step, would pay.
 */
export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { headers, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(null));
    });
    // `timeout` is idle time; the whole exchange gets the same bound.
    const deadline = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
    req.on('close', () => clearTimeout(deadline));
    req.end();
  });
}

/** GET url and report whether it answered 2xx (any failure is "not yet"). */
export async function httpOk(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<boolean> {
  const res = await httpGet(url, headers, timeoutMs);
  return res !== null && res.status >= 200 && res.status < 300;
}

export async function httpJson<T>(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<T | null> {
  const res = await httpGet(url, headers, timeoutMs);
  if (res === null || res.status < 200 || res.status >= 300) return null;
  try {
    return JSON.parse(res.body) as T;
  } catch {
    return null;
  }
}

/** GET url's body as text, or null on any failure or non-2xx answer. */
export async function httpText(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<string | null> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    return res.ok ? text : null;
  } catch {
    return null;
  }
}
