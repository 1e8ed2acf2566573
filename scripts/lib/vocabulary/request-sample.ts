// One request as the benchmark client saw it: the figures every summary,
// comparison and chart is computed from, written one per line to
// bench/<workload>.samples.jsonl (schemas/bench-sample.schema.json).

export interface RequestSample {
  /** Order of sending within the workload run (0, 1, ...), counting warm-up requests. */
  id: number;
  /** Which repeat of the workload (1-based; CONFIG_VLLM_BENCHMARK_REPEATS). */
  repeat: number;
  /** Warm-up requests are sent and timed like the others but left out of every figure. */
  warmup: boolean;
  /** Multi-round QA: the user (session key) and the round of its conversation. */
  user: string | null;
  round: number | null;
  /** When it was sent, ms after the benchmark's start (monotonic clock). */
  start_ms: number;
  /** Send -> first content token, ms; null when none arrived. */
  ttft_ms: number | null;
  /** Gaps between successive content chunks after the first, ms. */
  itl_ms: number[];
  /** Send -> last byte (or failure), ms. */
  e2el_ms: number;
  /** From the server's final usage chunk; null when it sent none. */
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cached_tokens: number | null;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** null for a success; otherwise one of ERROR_KINDS, and the message. */
  error_kind: ErrorKind | null;
  error: string | null;
  /** The engine that served it: its own x-engine-instance-id, else the router's x-router-engine. */
  engine: string | null;
}

/**
 * What went wrong with a failed request:
 * http_NNN   the server answered with that status
 * connect    no connection could be made
 * reset      the connection broke
 * timeout    no headers or no next chunk within the client's timeouts
 * stream     the stream carried an error event, or ended without [DONE]
 * empty      the stream finished without a content token
 * cancelled  still running when the benchmark's drain time ran out
 */
export type ErrorKind = `http_${number}` | 'connect' | 'reset' | 'timeout' | 'stream' | 'empty' | 'cancelled';

/** Time per output token after the first, as vllm bench serve defines it; null for a one-token answer. */
export function tpotMs(s: RequestSample): number | null {
  if (s.ttft_ms === null || s.completion_tokens === null || s.completion_tokens < 2) return null;
  return (s.e2el_ms - s.ttft_ms) / (s.completion_tokens - 1);
}

export function succeeded(s: RequestSample): boolean {
  return s.error_kind === null;
}
