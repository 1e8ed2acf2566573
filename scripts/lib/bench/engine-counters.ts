// What the engines themselves counted during a workload (the source of truth,
// not the client's or the router's word): request, token, prefix-cache and
// offload counters read from each engine's /metrics before and after.
import { sumMetric } from '../vocabulary/prometheus-text.js';
import type { EngineInfo } from '../stack/stack-handle.js';

export interface Counters {
  requests: number | null;
  prompt_tokens: number | null;
  generation_tokens: number | null;
  prefix_cache_queries: number | null;
  prefix_cache_hits: number | null;
  /** Prompt tokens looked up in the offload tier (LMCache), and found there. */
  offload_queries: number | null;
  offload_hits: number | null;
}

export interface EngineCounters extends Counters {
  id: string;
  url: string;
}

const NAMES: Record<keyof Counters, string[]> = {
  requests: ['vllm:request_success_total'],
  prompt_tokens: ['vllm:prompt_tokens_total'],
  generation_tokens: ['vllm:generation_tokens_total'],
  // vLLM renamed these; older engines only have the gpu_ names.
  prefix_cache_queries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
  prefix_cache_hits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
  offload_queries: ['lmcache:num_requested_tokens_total'],
  offload_hits: ['lmcache:num_hit_tokens_total'],
};

const SCRAPE_TIMEOUT_MS = 5000;

export function parseCounters(text: string): Counters {
  const out = {} as Counters;
  for (const [key, names] of Object.entries(NAMES) as [keyof Counters, string[]][]) {
    out[key] = null;
    for (const name of names) {
      const v = sumMetric(text, name);
      if (v !== null) {
        out[key] = v;
        break;
      }
    }
  }
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
