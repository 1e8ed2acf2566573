// Sending a known set of requests through the router with bounded
// concurrency, each answer attributed to the engine that served it.
import type { SuiteContext } from './context.js';
import type { EngineDirectory } from './engines.js';
import type { CounterDelta } from './engine-metrics.js';
import type { CaseRun } from './runner.js';
import type { Usage } from './usage-check.js';

export interface Sent<T> {
  item: T;
  status: number | null;
  ok: boolean;
  engine: string | null;
  usage: Usage | null;
  error?: string;
}

export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  }));
  if (signal?.aborted) throw new Error('interrupted');
  return out;
}

export interface Completion {
  prompt: string;
  maxTokens: number;
  headers?: Record<string, string>;
}

/** POSTs completions through the router; each answer says which engine served it and its usage. */
export async function complete<T extends Completion>(ctx: SuiteContext, dir: EngineDirectory, items: T[], concurrency: number): Promise<Sent<T>[]> {
  return pool(items, concurrency, async (item) => {
    const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, { model: ctx.expect.model, prompt: item.prompt, max_tokens: item.maxTokens }, { headers: item.headers, timeoutMs: 30_000, signal: ctx.signal });
    const usage = (r.json as { usage?: Usage } | null)?.usage ?? null;
    return {
      item, status: r.status, ok: r.status === 200, engine: dir.servedBy(r.headers), usage,
      ...(r.status !== 200 ? { error: r.error ?? `HTTP ${r.status}: ${r.text.slice(0, 160)}` } : {}),
    };
  }, ctx.signal);
}

/** Every request answered 200, or one failure naming how many did not and why. */
export function checkAllOk(c: CaseRun, sent: Sent<unknown>[]): boolean {
  const bad = sent.filter((s) => !s.ok);
  return c.check(bad.length === 0, `${bad.length} of ${sent.length} requests failed (first: ${bad[0]?.error ?? ''})`);
}

/**
 * The response headers' account of who served what must match the engines'
 * own counters exactly; a router (or proxy) that misreports fails here.
 */
export function checkAttribution(c: CaseRun, sent: Sent<unknown>[], counted: Map<string, CounterDelta>): boolean {
  const byHeader = new Map<string, number>();
  for (const s of sent) if (s.ok && s.engine) byHeader.set(s.engine, (byHeader.get(s.engine) ?? 0) + 1);
  const unattributed = sent.filter((s) => s.ok && !s.engine).length;
  const mismatches = [...counted].filter(([id, d]) => d.succeeded !== (byHeader.get(id) ?? 0));
  c.check(unattributed === 0, `${unattributed} answers name no engine of this node`);
  return c.check(mismatches.length === 0, `the response headers and the engines' own counters disagree on who served: ${mismatches.map(([id, d]) => `${id} headers ${byHeader.get(id) ?? 0}, counters ${d.succeeded}`).join('; ')}`);
}

export function countBy<T>(items: T[], key: (t: T) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) {
    const k = key(i);
    if (k !== null) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
