// What a suite run produces: one SuiteResult per suite, one CaseResult per
// case (the shape of schemas/suite-result.schema.json).

export const SUITE_NAMES = ['api', 'routing', 'scaling', 'lmcache', 'lora', 'pd', 'faults'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  /** What must hold, with the figures that apply to this node. */
  expectation: string;
  measured: Record<string, unknown>;
  /** The measurement in a few words, for tables. */
  summary: string;
  /** Why the case was skipped, or what failed. */
  reason?: string;
  /** What the case changed on the stack and how it was put back. */
  perturbed?: string;
  duration_s: number;
}

/** One engine's share of the suite's traffic, from its own counters. */
export interface EngineUsage {
  engine: string;
  requests: number;
  prefix_cache_queries: number;
  prefix_cache_hits: number;
  prefix_cache_hit_rate: number | null;
}

export interface SuiteResult {
  suite: SuiteName;
  node: string;
  target: string;
  started_at: string;
  ended_at: string;
  status: 'passed' | 'failed';
  duration_s: number;
  cases: CaseResult[];
  /** Requests and prefix-cache use per engine over the whole suite, and max/mean of the requests. */
  engines: EngineUsage[];
  load_skew: number | null;
}
