// Baseline vs dev for one workload from their per-request samples: each
// metric's observed values, the difference, its bootstrap confidence interval
// and a verdict against the noise thresholds. Pure: samples in, rows out.
import type { ExtraVars } from '../config/index.js';
import type { RequestSample } from '../vocabulary/request-sample.js';
import { summarize, type Slo } from '../vocabulary/bench-summary.js';
import { seedOf } from '../random.js';
import { bootstrapIntervals, difference, RESAMPLES } from './bootstrap.js';
import { METRICS, REQUEST_METRICS, requestStatistics, WINDOW_METRICS, windowStatistics, type MetricDef, type ThresholdKey } from './metrics.js';
import { preparePair, requestsOf, type Side } from './side.js';
import { metricVerdict, type MetricVerdict } from './verdict.js';

/** Noise thresholds in percent (error_rate: percentage points), from CONFIG_VLLM_AB_MAX_*. */
export type Thresholds = Record<ThresholdKey, number>;

export type ThresholdVars = Pick<ExtraVars, 'vllm_ab_max_ttft_regression_pct' | 'vllm_ab_max_itl_regression_pct' | 'vllm_ab_max_e2el_regression_pct'
  | 'vllm_ab_max_tail_regression_pct' | 'vllm_ab_max_throughput_regression_pct' | 'vllm_ab_max_error_rate_increase_pct'>;

export function thresholdsFrom(v: ThresholdVars): Thresholds {
  return {
    ttft: v.vllm_ab_max_ttft_regression_pct, itl: v.vllm_ab_max_itl_regression_pct, e2el: v.vllm_ab_max_e2el_regression_pct,
    tail: v.vllm_ab_max_tail_regression_pct, throughput: v.vllm_ab_max_throughput_regression_pct, error_rate: v.vllm_ab_max_error_rate_increase_pct,
  };
}

export interface MetricComparison {
  workload: string;
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  baseline: number | null;
  dev: number | null;
  /** dev vs baseline in percent of baseline; error_rate in percentage points. */
  delta_pct: number | null;
  ci_low_pct: number | null;
  ci_high_pct: number | null;
  threshold_pct: number;
  verdict: MetricVerdict;
}

export interface WorkloadInput {
  samples: RequestSample[];
  slo: Slo;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

function rows(workload: string, defs: MetricDef[], observed: [number[], number[]], intervals: ({ low: number; high: number } | null)[], thresholds: Thresholds): MetricComparison[] {
  return defs.map((def, m) => {
    const b = finite(observed[0][m]);
    const d = finite(observed[1][m]);
    const delta = b === null || d === null ? null : finite(difference(b, d, def.absolute));
    const ci = delta === null ? null : intervals[m] ?? null;
    const threshold = thresholds[def.threshold];
    return {
      workload, name: def.name, unit: def.unit, better: def.better, baseline: b, dev: d,
      delta_pct: delta, ci_low_pct: ci?.low ?? null, ci_high_pct: ci?.high ?? null, threshold_pct: threshold,
      verdict: metricVerdict(def, delta, ci?.low ?? null, ci?.high ?? null, threshold),
    };
  });
}

/** Request-level statistics of the requests of the given request blocks. */
const blockRequestStatistics = (side: Side, blocks: Int32Array): number[] => requestStatistics(side, requestsOf(side, blocks));

/** Observed values, exactly as the benchmark's own summary (bench/<workload>.json) gives them. */
function observed(input: WorkloadInput, defs: MetricDef[]): number[] {
  const summary = summarize(input.samples, input.slo) as unknown as Record<string, number | null>;
  return defs.map((d) => (d.name === 'error_rate' ? (summary.error_rate as number) * 100 : summary[d.name] ?? NaN));
}

export function compareWorkload(workload: string, base: WorkloadInput, dev: WorkloadInput, thresholds: Thresholds, resamples = RESAMPLES): MetricComparison[] {
  const pair = preparePair(base.samples, base.slo, dev.samples, dev.slo);
  for (const [name, side] of [['baseline', pair.base], ['dev', pair.dev]] as const) {
    if (side.requests.length === 0) throw new Error(`${workload}: ${name} has no measured request to compare`);
  }
  const requestIntervals = bootstrapIntervals(pair, pair.blockStrata, blockRequestStatistics, REQUEST_METRICS.map((m) => m.absolute), seedOf(`${workload}/requests`), resamples);
  const windowIntervals = bootstrapIntervals(pair, pair.windowStrata, windowStatistics, WINDOW_METRICS.map((m) => m.absolute), seedOf(`${workload}/windows`), resamples);
  const all = [
    ...rows(workload, REQUEST_METRICS, [observed(base, REQUEST_METRICS), observed(dev, REQUEST_METRICS)], requestIntervals, thresholds),
    ...rows(workload, WINDOW_METRICS, [observed(base, WINDOW_METRICS), observed(dev, WINDOW_METRICS)], windowIntervals, thresholds),
  ];
  return METRICS.map((def) => all.find((r) => r.name === def.name) as MetricComparison);
}
