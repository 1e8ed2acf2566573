// A workload's benchmark result as bench/<workload>.json holds it (vllm bench
// serve's field names, schemas/bench-result.schema.json): the benchmark
// writes it, results reads it back, and report and compare read it from there.
import type { BenchSummary, Slo } from './bench-summary.js';
import type { RequestSample } from './request-sample.js';

export type WorkloadName = 'multi_round_qa' | 'serving' | 'lora' | 'pd_mix';

/** What one engine counted during a workload (after − before); null where unknown. */
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

export interface ClientCpu {
  cpu_seconds: number;
  /** CPU seconds per wall second: 1 is one full core, all a Node.js client can use. */
  cores: number;
  event_loop_utilization: number;
  /** 99th percentile of how late paced requests were sent, ms; null when none was paced. */
  send_lag_p99_ms: number | null;
  saturated: boolean;
}

/** The adapter workload's figures from the engines' own per-adapter counters. */
export interface AdapterFigures {
  requests: number;
  swaps: number;
  /** Mean TTFT the engines measured, ms; null without requests. */
  mean_ttft_ms: number | null;
}

export interface LoraFigures {
  adapters: Record<string, AdapterFigures>;
  swaps_total: number;
  /** Swap-ins per adapter request. */
  swap_rate: number | null;
}

export interface BenchResult extends BenchSummary {
  workload: WorkloadName;
  node: string;
  run_id: string;
  date: string;
  started_at: string;
  backend: 'openai-chat' | 'openai';
  model_id: string;
  endpoint: string;
  params: Record<string, number>;
  slo: Slo;
  request_rate?: number | 'inf';
  burstiness?: number;
  max_concurrency?: number | null;
  prefix_cache_queries: number | null;
  prefix_cache_hits: number | null;
  prefix_cache_hit_rate: number | null;
  offload_queries: number | null;
  offload_hits: number | null;
  offload_hit_rate: number | null;
  engines: EngineCounters[];
  requests_per_engine: Record<string, number>;
  client: ClientCpu;
  warnings: string[];
  samples_file: string;
  /** The adapter workload: per-adapter requests, swap-ins and TTFT from the engines' counters (null where they export none). */
  lora?: LoraFigures | null;
}

/** One node's result of a workload, with its per-request samples. */
export interface NodeSeries {
  node: string;
  result: BenchResult;
  samples: RequestSample[];
}
