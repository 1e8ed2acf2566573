// Waiting for services with a deadline, progress, and an early exit when the
// process being waited for has already died (no point waiting ten minutes).

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
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** GET url and report whether it answered 2xx (any failure is "not yet"). */
export async function httpOk(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export async function httpJson<T>(url: string, headers: Record<string, string> = {}, timeoutMs = 1000): Promise<T | null> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.arrayBuffer();
      return null;
    }
    return (await res.json()) as T;
  } catch {
    return null;
  }
}
