// The whole comparison as compare.json holds it (schemas/compare.schema.json).
import { CONFIDENCE, RESAMPLES } from './bootstrap.js';
import type { MetricComparison, Thresholds } from './compare.js';
import { overallVerdict, type MetricVerdict } from './verdict.js';

export interface Comparison {
  /** <run-id>:<node> of each side. */
  base: string;
  dev: string;
  verdict: MetricVerdict;
  generated_at: string;
  method: { interval: string; resamples: number; confidence: number; units: string };
  thresholds: Thresholds;
  workloads: string[];
  metrics: MetricComparison[];
  notes: string[];
}

export function comparison(base: string, dev: string, thresholds: Thresholds, metrics: MetricComparison[], notes: string[], resamples = RESAMPLES, now = new Date()): Comparison {
  return {
    base, dev,
    verdict: overallVerdict(metrics.map((m) => m.verdict)),
    generated_at: now.toISOString(),
    method: {
      interval: 'percentile bootstrap of the difference, each side resampled with replacement within each repeat',
      resamples, confidence: CONFIDENCE,
      units: 'requests for latencies and error rate (a request with all its inter-token gaps); time windows of about 1 s for throughput and goodput',
    },
    thresholds,
    workloads: [...new Set(metrics.map((m) => m.workload))],
    metrics, notes,
  };
}
