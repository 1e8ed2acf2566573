// A metric's verdict, and the comparison's: a change counts only when its
// confidence interval excludes zero and it is larger than the noise threshold.
import type { MetricDef } from './metrics.js';

export type MetricVerdict = 'regression' | 'improvement' | 'no-change';

export function metricVerdict(def: MetricDef, delta: number | null, low: number | null, high: number | null, threshold: number): MetricVerdict {
  if (delta === null || low === null || high === null) return 'no-change';
  const excludesZero = low > 0 || high < 0;
  if (!excludesZero || Math.abs(delta) <= threshold) return 'no-change';
  const rose = delta > 0;
  return rose === (def.better === 'lower') ? 'regression' : 'improvement';
}

/** regression if any metric regressed, else improvement if any improved, else no-change. */
export function overallVerdict(verdicts: MetricVerdict[]): MetricVerdict {
  if (verdicts.includes('regression')) return 'regression';
  if (verdicts.includes('improvement')) return 'improvement';
  return 'no-change';
}
