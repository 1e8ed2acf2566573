// The percentile bootstrap of a difference between baseline and dev: draw
// blocks with replacement (within each repeat, the same blocks for both sides:
// see side.ts), recompute the statistics on each side, and take the middle
// 95 % of the recomputed differences.
import { Random } from '../random.js';
import { percentileSorted } from '../quantile.js';
import type { Strata } from './side.js';

/** Resamples per comparison: enough for stable 2.5 and 97.5 percentiles (Efron: at least 1,000). */
export const RESAMPLES = 2000;
export const CONFIDENCE = 0.95;

/** A resample of blocks: as many from each stratum (repeat) as it has, drawn with replacement. */
export function resample(strata: Strata, rng: Random, out: Int32Array): Int32Array {
  let k = 0;
  for (const group of strata) {
    for (let i = 0; i < group.length; i++) out[k++] = group[rng.int(group.length)] as number;
  }
  return out;
}

/** How a difference is measured: percent of baseline, or plain difference (percentage points). */
export function difference(baseline: number, dev: number, absolute: boolean): number {
  if (absolute) return dev - baseline;
  if (baseline === 0) return dev === 0 ? 0 : NaN;
  return ((dev - baseline) / baseline) * 100;
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * The percentile-bootstrap interval of each difference dev - baseline of the
 * statistics stat() computes over a set of blocks, drawing the same blocks for
 * both sides. Deterministic for a given seed.
 */
export function bootstrapIntervals<S>(pair: { base: S; dev: S }, strata: Strata, stat: (s: S, blocks: Int32Array) => number[], absolute: boolean[], seed: number, resamples = RESAMPLES): (Interval | null)[] {
  const rng = new Random(seed);
  const blocks = new Int32Array(strata.reduce((a, g) => a + g.length, 0));
  const deltas = absolute.map(() => new Float64Array(resamples));
  const valid = absolute.map(() => 0);
  for (let b = 0; b < resamples; b++) {
    resample(strata, rng, blocks);
    const x = stat(pair.base, blocks);
    const y = stat(pair.dev, blocks);
    for (let m = 0; m < absolute.length; m++) {
      const d = difference(x[m] as number, y[m] as number, absolute[m] as boolean);
      if (Number.isFinite(d)) deltas[m]![valid[m]!++] = d;
    }
  }
  const alpha = ((1 - CONFIDENCE) / 2) * 100;
  return deltas.map((all, m) => {
    // An interval needs nearly every resample to give a difference (none lost to an empty or zero baseline).
    if ((valid[m] as number) < resamples * 0.99) return null;
    const sorted = all.subarray(0, valid[m]).sort();
    return { low: percentileSorted(sorted, alpha), high: percentileSorted(sorted, 100 - alpha) };
  });
}
