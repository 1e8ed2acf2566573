// The engines' own counters: the source of truth for who served what. Reads
// the counters of vocabulary/engine-counters.ts, sums each metric over its
// label sets, and subtracts snapshots to get what one case did.
import { ENGINE_COUNTERS as C, CACHE_CONFIG_INFO } from '../vocabulary/engine-counters.js';
import { parseMetricsText, sumSamples } from '../vocabulary/prometheus-text.js';
import type { SuiteHttp } from './http.js';

export interface EngineCounters {
  /** Completed requests (vllm:request_success_total). */
  succeeded: number;
  /** Requests admitted to run (count of vllm:request_prompt_tokens; vLLM observes it at the end). */
  admitted: number;
  promptTokens: number;
  prefixQueries: number;
  prefixHits: number;
  /** LMCache: prompt tokens looked up in the offload tier, and found there. */
  offloadRequested: number;
  offloadHits: number;
  running: number;
  waiting: number;
  /** From vllm:cache_config_info; null when the engine does not export it. */
  blockSize: number | null;
  gpuBlocks: number | null;
}

export function countersFrom(text: string): EngineCounters {
  const samples = parseMetricsText(text, { unreadable: 'skip' });
  const sum = (names: readonly string[]) => sumSamples(samples, names) ?? 0;
  const info = samples.find((s) => s.name === CACHE_CONFIG_INFO);
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  return {
    succeeded: sum(C.requestSuccess),
    admitted: sum(C.requestsAdmitted),
    promptTokens: sum(C.promptTokens),
    prefixQueries: sum(C.prefixCacheQueries),
    prefixHits: sum(C.prefixCacheHits),
    offloadRequested: sum(C.offloadRequestedTokens),
    offloadHits: sum(C.offloadHitTokens),
    running: sum(C.running),
    waiting: sum(C.waiting),
    blockSize: int(info?.labels.block_size),
    gpuBlocks: int(info?.labels.num_gpu_blocks),
  };
}

const COUNTERS = ['succeeded', 'admitted', 'promptTokens', 'prefixQueries', 'prefixHits', 'offloadRequested', 'offloadHits'] as const;
export type CounterName = (typeof COUNTERS)[number];
export type CounterDelta = Record<CounterName, number>;

/** What happened between two readings; a counter that went down means the engine restarted, so the later value is all of it. */
export function delta(before: EngineCounters | undefined, after: EngineCounters): CounterDelta {
  const out = {} as CounterDelta;
  for (const k of COUNTERS) {
    const b = before?.[k] ?? 0;
    out[k] = after[k] >= b ? after[k] - b : after[k];
  }
  return out;
}

export interface MetricsTarget {
  id: string;
  metricsUrl: string;
}

/** Reads every engine's counters; an engine that does not answer is left out of the map. */
export async function readCounters(http: SuiteHttp, engines: MetricsTarget[], timeoutMs = 2_000): Promise<Map<string, EngineCounters>> {
  const out = new Map<string, EngineCounters>();
  await Promise.all(engines.map(async (e) => {
    const res = await http.get(e.metricsUrl, { timeoutMs });
    if (res.status === 200) out.set(e.id, countersFrom(res.text));
  }));
  return out;
}

export function deltas(before: Map<string, EngineCounters>, after: Map<string, EngineCounters>): Map<string, CounterDelta> {
  const out = new Map<string, CounterDelta>();
  for (const [id, a] of after) out.set(id, delta(before.get(id), a));
  return out;
}

export function hitRate(d: Pick<CounterDelta, 'prefixQueries' | 'prefixHits'>): number | null {
  return d.prefixQueries > 0 ? d.prefixHits / d.prefixQueries : null;
}

/** max/mean of per-engine request counts; 1 is perfectly even. */
export function loadSkew(counts: number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.length === 0 || total === 0) return null;
  return Math.max(...counts) / (total / counts.length);
}
