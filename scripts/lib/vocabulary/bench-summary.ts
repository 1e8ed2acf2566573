// Per-request samples -> the figures of a `vllm bench serve` result, under its
// field names: counts, throughputs, goodput and the latency statistics.
// Warm-up requests count apart; failed ones count in `failed` only.
import { mean, percentileSorted, sortedCopy, std } from '../quantile.js';
import { succeeded, tpotMs, type RequestSample } from './request-sample.js';

/** Service level objectives of goodput, ms; 0 means no objective on that metric. */
export interface Slo {
  ttft_ms: number;
  tpot_ms: number;
  e2el_ms: number;
}

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];
export const STATISTICS = ['mean', 'median', 'std', 'p50', 'p90', 'p95', 'p99'] as const;

export type LatencyFields = { [K in `${(typeof STATISTICS)[number]}_${LatencyMetric}_ms`]: number | null };

export interface BenchSummary extends LatencyFields {
  completed: number;
  failed: number;
  /** Warm-up requests sent (successful or not), not counted anywhere else. */
  warmup_requests: number;
  /** Seconds from the first measured send to the last measured answer, summed over repeats. */
  duration: number;
  total_input_tokens: number;
  total_output_tokens: number;
  request_throughput: number;
  input_throughput: number;
  output_throughput: number;
  total_token_throughput: number;
  /** Completed requests per second that met every SLO (all completed ones when no SLO is set). */
  request_goodput: number;
  /** failed / (completed + failed). */
  error_rate: number;
  errors_by_kind: Record<string, number>;
}

export function measured(samples: RequestSample[]): RequestSample[] {
  return samples.filter((s) => !s.warmup);
}

/** Each repeat's span, from its first measured send to its last measured end, in seconds. */
export function durationSeconds(samples: RequestSample[]): number {
  const spans = new Map<number, [number, number]>();
  for (const s of samples) {
    const span = spans.get(s.repeat);
    const end = s.start_ms + s.e2el_ms;
    if (!span) spans.set(s.repeat, [s.start_ms, end]);
    else {
      span[0] = Math.min(span[0], s.start_ms);
      span[1] = Math.max(span[1], end);
    }
  }
  let total = 0;
  for (const [start, end] of spans.values()) total += end - start;
  return total / 1000;
}

export function meetsSlo(s: RequestSample, slo: Slo): boolean {
  if (!succeeded(s)) return false;
  if (slo.ttft_ms > 0 && (s.ttft_ms === null || s.ttft_ms > slo.ttft_ms)) return false;
  if (slo.tpot_ms > 0) {
    const tpot = tpotMs(s);
    if (tpot !== null && tpot > slo.tpot_ms) return false;
  }
  return !(slo.e2el_ms > 0 && s.e2el_ms > slo.e2el_ms);
}

/** The values of one latency metric over the successful requests (itl: every gap of every request). */
export function latencyValues(ok: RequestSample[], metric: LatencyMetric): number[] {
  const out: number[] = [];
  for (const s of ok) {
    if (metric === 'ttft') {
      if (s.ttft_ms !== null) out.push(s.ttft_ms);
    } else if (metric === 'tpot') {
      const t = tpotMs(s);
      if (t !== null) out.push(t);
    } else if (metric === 'itl') {
      for (const g of s.itl_ms) out.push(g);
    } else {
      out.push(s.e2el_ms);
    }
  }
  return out;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function summarize(all: RequestSample[], slo: Slo): BenchSummary {
  const runs = measured(all);
  const ok = runs.filter(succeeded);
  const failed = runs.length - ok.length;
  const duration = durationSeconds(runs);
  const perSecond = (n: number) => (duration > 0 ? n / duration : 0);
  let input = 0;
  let output = 0;
  for (const s of ok) {
    input += s.prompt_tokens ?? 0;
    output += s.completion_tokens ?? 0;
  }
  const errors: Record<string, number> = {};
  for (const s of runs) if (s.error_kind !== null) errors[s.error_kind] = (errors[s.error_kind] ?? 0) + 1;
  const latency = {} as LatencyFields;
  for (const metric of LATENCY_METRICS) {
    const values = latencyValues(ok, metric);
    const sorted = sortedCopy(values);
    latency[`mean_${metric}_ms`] = finite(mean(values));
    latency[`std_${metric}_ms`] = finite(std(values));
    latency[`median_${metric}_ms`] = finite(percentileSorted(sorted, 50));
    for (const p of [50, 90, 95, 99] as const) latency[`p${p}_${metric}_ms`] = finite(percentileSorted(sorted, p));
  }
  return {
    completed: ok.length,
    failed,
    warmup_requests: all.length - runs.length,
    duration,
    total_input_tokens: input,
    total_output_tokens: output,
    request_throughput: perSecond(ok.length),
    input_throughput: perSecond(input),
    output_throughput: perSecond(output),
    total_token_throughput: perSecond(input + output),
    request_goodput: perSecond(ok.filter((s) => meetsSlo(s, slo)).length),
    error_rate: runs.length > 0 ? failed / runs.length : 0,
    errors_by_kind: errors,
    ...latency,
  };
}
