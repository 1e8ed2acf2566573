// What the engines themselves counted during a workload (the source of truth,
// not the client's or the router's word): request, token, prefix-cache and
// offload counters read from each engine's /metrics before and after.
import type { Counters, EngineCounters } from '../vocabulary/bench-result.js';
import { ENGINE_COUNTERS as C } from '../vocabulary/engine-counters.js';
import { parseMetricsText, sumSamples } from '../vocabulary/prometheus-text.js';
import type { EngineInfo } from '../stack/stack-handle.js';

/** Each field of a result's counters, and the engine counter it reads. */
const NAMES: Record<keyof Counters, readonly string[]> = {
  requests: C.requestSuccess,
  prompt_tokens: C.promptTokens,
  generation_tokens: C.generationTokens,
  prefix_cache_queries: C.prefixCacheQueries,
  prefix_cache_hits: C.prefixCacheHits,
  offload_queries: C.offloadRequestedTokens,
  offload_hits: C.offloadHitTokens,
};

const SCRAPE_TIMEOUT_MS = 5000;

export function parseCounters(text: string): Counters {
  const samples = parseMetricsText(text, { unreadable: 'skip' });
  const out = {} as Counters;
  for (const [key, names] of Object.entries(NAMES) as [keyof Counters, readonly string[]][]) out[key] = sumSamples(samples, names);
  return out;
}

/** Each engine's counters now; null for an engine whose /metrics could not be read. */
export async function readCounters(engines: EngineInfo[]): Promise<Map<string, Counters | null>> {
  const read = async (e: EngineInfo): Promise<[string, Counters | null]> => {
    try {
      const res = await fetch(e.metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      return [e.id, res.ok ? parseCounters(await res.text()) : null];
    } catch {
      return [e.id, null];
    }
  };
  return new Map(await Promise.all(engines.map(read)));
}

/**
 * after - before, per engine and counter, read as Prometheus' rate() reads a
 * counter: one absent from a "before" that was read (a labelled counter
 * appears with its first request, as after an engine restart) or lower
 * "after" (the engine restarted in between) counts from zero. Null where the
 * engine or the counter is unknown: "after" unread or without the series (an
 * engine without LMCache has no offload counters), or "before" unread.
 */
export function counterDeltas(engines: EngineInfo[], before: Map<string, Counters | null>, after: Map<string, Counters | null>): EngineCounters[] {
  return engines.map((e) => {
    const b = before.get(e.id) ?? null;
    const a = after.get(e.id) ?? null;
    const delta = {} as Counters;
    for (const key of Object.keys(NAMES) as (keyof Counters)[]) delta[key] = counterIncrease(b === null ? undefined : b[key], a?.[key] ?? null);
    return { id: e.id, url: e.url, ...delta };
  });
}

/** One counter's increase; `before` undefined: not read, null: read but absent. */
export function counterIncrease(before: number | null | undefined, after: number | null): number | null {
  if (after === null || before === undefined) return null;
  if (before === null || after < before) return after;
  return after - before;
}

/** Sums of one counter over engines and repeats; null when no engine reported it. */
export function total(rows: EngineCounters[], key: keyof Counters): number | null {
  let sum: number | null = null;
  for (const r of rows) if (r[key] !== null) sum = (sum ?? 0) + (r[key] as number);
  return sum;
}
