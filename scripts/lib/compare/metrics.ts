// The compared metrics, how each is computed from one (re)sample of a side,
// which way is better, and which noise threshold guards it.
import { BLOCK_MS, type Side } from './side.js';
import { percentilesInPlace } from '../quantile.js';

export type ThresholdKey = 'ttft' | 'itl' | 'e2el' | 'tail' | 'throughput' | 'error_rate';

export interface MetricDef {
  name: string;
  unit: string;
  /** lower: a rise is a regression (latencies, errors); higher: a fall is. */
  better: 'lower' | 'higher';
  threshold: ThresholdKey;
  /** error_rate is compared in percentage points, everything else in percent of baseline. */
  absolute: boolean;
}

/** Computed from pairs of requests (see side.ts). */
export const REQUEST_METRICS: MetricDef[] = [
  { name: 'median_ttft_ms', unit: 'ms', better: 'lower', threshold: 'ttft', absolute: false },
  { name: 'p99_ttft_ms', unit: 'ms', better: 'lower', threshold: 'tail', absolute: false },
  { name: 'median_tpot_ms', unit: 'ms', better: 'lower', threshold: 'itl', absolute: false },
  { name: 'p99_tpot_ms', unit: 'ms', better: 'lower', threshold: 'tail', absolute: false },
  { name: 'median_e2el_ms', unit: 'ms', better: 'lower', threshold: 'e2el', absolute: false },
  { name: 'p99_e2el_ms', unit: 'ms', better: 'lower', threshold: 'tail', absolute: false },
  { name: 'error_rate', unit: '%', better: 'lower', threshold: 'error_rate', absolute: true },
];

/** Computed from time windows (see side.ts). */
export const WINDOW_METRICS: MetricDef[] = [
  { name: 'median_itl_ms', unit: 'ms', better: 'lower', threshold: 'itl', absolute: false },
  { name: 'p99_itl_ms', unit: 'ms', better: 'lower', threshold: 'tail', absolute: false },
  { name: 'output_throughput', unit: 'tok/s', better: 'higher', threshold: 'throughput', absolute: false },
  { name: 'request_goodput', unit: 'req/s', better: 'higher', threshold: 'throughput', absolute: false },
];

/** Every metric, in the order tables show them. */
export const METRICS: MetricDef[] = ['median_ttft_ms', 'p99_ttft_ms', 'median_tpot_ms', 'p99_tpot_ms', 'median_itl_ms', 'p99_itl_ms',
  'median_e2el_ms', 'p99_e2el_ms', 'error_rate', 'output_throughput', 'request_goodput']
  .map((name) => [...REQUEST_METRICS, ...WINDOW_METRICS].find((m) => m.name === name) as MetricDef);

/** The request-level metrics of the requests at the given indices (repeats allowed), in REQUEST_METRICS order. */
export function requestStatistics(side: Side, idx: Int32Array): number[] {
  const { failed } = side;
  if (idx.length > side.scratch.length) side.scratch = new Float64Array(idx.length * 2);
  const scratch = side.scratch;
  const out: number[] = [];
  const quantiles = (column: Float64Array) => {
    let n = 0;
    for (let k = 0; k < idx.length; k++) {
      const v = column[idx[k] as number] as number;
      if (v === v) scratch[n++] = v; // skips NaN: failed or undefined for this request
    }
    out.push(...percentilesInPlace(scratch, n, [50, 99]));
  };
  quantiles(side.ttft);
  quantiles(side.tpot);
  quantiles(side.e2el);
  let errors = 0;
  for (let k = 0; k < idx.length; k++) errors += failed[idx[k] as number] as number;
  out.push(idx.length > 0 ? (errors / idx.length) * 100 : NaN);
  return out;
}

/** Inter-token gap quantiles, output tokens and good answers per second over the given time windows, in WINDOW_METRICS order. */
export function windowStatistics(side: Side, blocks: Int32Array): number[] {
  const { windowGapStart, windowGaps } = side;
  let tokens = 0;
  let good = 0;
  let total = 0;
  for (let k = 0; k < blocks.length; k++) {
    const w = blocks[k] as number;
    tokens += side.windowTokens[w] as number;
    good += side.windowGood[w] as number;
    total += (windowGapStart[w + 1] as number) - (windowGapStart[w] as number);
  }
  if (total > side.scratch.length) side.scratch = new Float64Array(total * 2);
  const scratch = side.scratch;
  let n = 0;
  for (let k = 0; k < blocks.length; k++) {
    const w = blocks[k] as number;
    const to = windowGapStart[w + 1] as number;
    for (let g = windowGapStart[w] as number; g < to; g++) scratch[n++] = windowGaps[g] as number;
  }
  const seconds = (blocks.length * BLOCK_MS) / 1000;
  return [...percentilesInPlace(scratch, n, [50, 99]), seconds > 0 ? tokens / seconds : NaN, seconds > 0 ? good / seconds : NaN];
}
