// The engines' own counters: the source of truth for who served what. Reads
// vLLM's /metrics names (the simulator serves the same), sums each metric
// over its label sets, and subtracts snapshots to get what one case did.
import type { SuiteHttp } from './http.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a Prometheus text exposition (comments and malformed lines are left out). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}

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

function sum(samples: Sample[], ...names: string[]): number | null {
  for (const name of names) {
    const found = samples.filter((s) => s.name === name);
    if (found.length > 0) return found.reduce((a, s) => a + s.value, 0);
  }
  return null;
}

export function countersFrom(text: string): EngineCounters {
  const samples = parsePrometheus(text);
  const info = samples.find((s) => s.name === 'vllm:cache_config_info');
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  return {
    succeeded: sum(samples, 'vllm:request_success_total') ?? 0,
    admitted: sum(samples, 'vllm:request_prompt_tokens_count') ?? 0,
    promptTokens: sum(samples, 'vllm:prompt_tokens_total') ?? 0,
    prefixQueries: sum(samples, 'vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total') ?? 0,
    prefixHits: sum(samples, 'vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total') ?? 0,
    offloadRequested: sum(samples, 'lmcache:num_requested_tokens_total', 'lmcache:num_requested_tokens') ?? 0,
    offloadHits: sum(samples, 'lmcache:num_hit_tokens_total', 'lmcache:num_hit_tokens') ?? 0,
    running: sum(samples, 'vllm:num_requests_running') ?? 0,
    waiting: sum(samples, 'vllm:num_requests_waiting') ?? 0,
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
