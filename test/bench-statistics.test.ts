// The benchmark's pure statistics on made-up samples: numpy's percentiles,
// vllm bench serve's summary fields, and the comparison's honesty: identical
// runs are called no-change, slower ones a regression, shared host noise cancels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../scripts/lib/vocabulary/bench-summary.js';
import { compareWorkload, type Thresholds } from '../scripts/lib/compare/compare.js';
import { METRICS } from '../scripts/lib/compare/metrics.js';
import { percentile, percentileSorted, percentilesInPlace } from '../scripts/lib/quantile.js';
import { metricVerdict, overallVerdict } from '../scripts/lib/compare/verdict.js';
import { Random } from '../scripts/lib/random.js';
import { syntheticSamples, type SyntheticRun } from './support/synthetic-samples.js';

const NO_SLO = { ttft_ms: 0, tpot_ms: 0, e2el_ms: 0 };
const THRESHOLDS: Thresholds = { ttft: 10, itl: 10, e2el: 10, tail: 25, throughput: 10, error_rate: 1 };
/** Fewer resamples than make vllm-compare's 2,000: enough for the tests' margins, quick in CI. */
const RESAMPLES = 200;

/** Runs small enough for CI: 6 users, 15 s, answers of 8 tokens (about 600 requests). */
const SMALL = { users: 6, seconds: 15, tokens: 8 };

function compare(base: SyntheticRun, dev: SyntheticRun) {
  return compareWorkload('multi_round_qa', { samples: syntheticSamples({ ...SMALL, ...base }), slo: NO_SLO }, { samples: syntheticSamples({ ...SMALL, ...dev }), slo: NO_SLO }, THRESHOLDS, RESAMPLES);
}

const verdictOf = (rows: ReturnType<typeof compare>, name: string) => rows.find((r) => r.name === name)?.verdict;

test('percentiles interpolate between ranks as numpy does, and the in-place selection agrees with sorting', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([10, 20, 30, 40, 50], 90), 46);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  const rng = new Random(7);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + rng.int(300);
    const values = Array.from({ length: n }, () => Math.round(rng.next() * 20));
    const sorted = Float64Array.from(values).sort();
    const got = percentilesInPlace(Float64Array.from(values), n, [50, 90, 99]);
    assert.deepEqual(got, [50, 90, 99].map((p) => percentileSorted(sorted, p)));
  }
});

test('the summary has vllm bench serve fields, leaves warm-up out, counts failures apart and applies goodput SLOs', () => {
  const samples = syntheticSamples({ seed: 1, warmup: 5, errorRate: 0.05 });
  const s = summarize(samples, NO_SLO);
  const measured = samples.filter((x) => !x.warmup);
  assert.equal(s.warmup_requests, 5);
  assert.equal(s.completed + s.failed, measured.length);
  assert.equal(s.failed, measured.filter((x) => x.error_kind !== null).length);
  assert.ok(s.failed > 0);
  assert.equal(s.errors_by_kind.http_500, s.failed);
  assert.equal(s.total_output_tokens, s.completed * 16);
  assert.ok(Math.abs(s.output_throughput - s.total_output_tokens / s.duration) < 1e-9);
  assert.equal(s.request_goodput, s.request_throughput, 'without an SLO every completed request is good');
  for (const key of ['mean', 'median', 'std', 'p50', 'p90', 'p95', 'p99']) {
    for (const m of ['ttft', 'tpot', 'itl', 'e2el']) assert.equal(typeof (s as unknown as Record<string, unknown>)[`${key}_${m}_ms`], 'number', `${key}_${m}_ms`);
  }
  assert.equal(s.median_ttft_ms, s.p50_ttft_ms);
  const strict = summarize(samples, { ttft_ms: s.median_ttft_ms as number, tpot_ms: 0, e2el_ms: 0 });
  assert.ok(Math.abs(strict.request_goodput / s.request_goodput - 0.5) < 0.05, 'an SLO at the median TTFT passes about half');
});

test('a verdict needs an interval that excludes zero and a change beyond the noise threshold, in the metric\'s bad direction', () => {
  const ttft = METRICS.find((m) => m.name === 'median_ttft_ms')!;
  const tput = METRICS.find((m) => m.name === 'output_throughput')!;
  assert.equal(metricVerdict(ttft, 20, 12, 28, 10), 'regression');
  assert.equal(metricVerdict(ttft, -20, -28, -12, 10), 'improvement');
  assert.equal(metricVerdict(ttft, 20, -2, 40, 10), 'no-change', 'the interval includes zero');
  assert.equal(metricVerdict(ttft, 5, 3, 7, 10), 'no-change', 'significant but within the noise');
  assert.equal(metricVerdict(tput, -20, -28, -12, 10), 'regression', 'less throughput is worse');
  assert.equal(metricVerdict(ttft, null, null, null, 10), 'no-change');
  assert.equal(overallVerdict(['no-change', 'improvement', 'regression']), 'regression');
  assert.equal(overallVerdict(['no-change', 'improvement']), 'improvement');
  assert.equal(overallVerdict(['no-change']), 'no-change');
});

test('identical runs (A/A) are called no-change in at least 19 of 20 repetitions', () => {
  let falseCalls = 0;
  for (let rep = 0; rep < 20; rep++) {
    const rows = compare({ seed: 1000 + rep }, { seed: 5000 + rep });
    if (overallVerdict(rows.map((r) => r.verdict)) !== 'no-change') falseCalls++;
  }
  assert.ok(falseCalls <= 1, `${falseCalls} of 20 A/A comparisons were called a change`);
});

test('dev with 20 % more latency is called a TTFT regression in at least 19 of 20 repetitions', () => {
  let caught = 0;
  for (let rep = 0; rep < 20; rep++) {
    const rows = compare({ seed: 2000 + rep }, { seed: 6000 + rep, latencyFactor: 1.2 });
    if (verdictOf(rows, 'median_ttft_ms') === 'regression') caught++;
  }
  assert.ok(caught >= 19, `only ${caught} of 20 were called a TTFT regression`);
});

test('a slower TTFT alone regresses TTFT only; a faster one is an improvement', () => {
  const rows = compare({ seed: 3 }, { seed: 4, ttftFactor: 1.3 });
  assert.equal(verdictOf(rows, 'median_ttft_ms'), 'regression');
  assert.equal(verdictOf(rows, 'median_itl_ms'), 'no-change');
  assert.equal(verdictOf(compare({ seed: 3 }, { seed: 4, ttftFactor: 0.6 }), 'median_ttft_ms'), 'improvement');
});

test('host noise that hit both nodes in the same seconds is not called a change', () => {
  const noisy = { from: 5, to: 9, factor: 3 };
  const rows = compare({ seed: 11, noisy }, { seed: 12, noisy });
  assert.equal(overallVerdict(rows.map((r) => r.verdict)), 'no-change', JSON.stringify(rows.filter((r) => r.verdict !== 'no-change')));
});

test('errors are compared in percentage points: 10 % failing requests on dev is a regression', () => {
  const rows = compare({ seed: 21 }, { seed: 22, errorRate: 0.1 });
  const errors = rows.find((r) => r.name === 'error_rate')!;
  assert.equal(errors.unit, '%');
  assert.ok(errors.delta_pct! > 5 && errors.delta_pct! < 15, `${errors.delta_pct} points`);
  assert.equal(errors.verdict, 'regression');
});

test('the comparison is deterministic, and its observed values are the summary\'s', () => {
  const a = compare({ seed: 31 }, { seed: 32 });
  const b = compare({ seed: 31 }, { seed: 32 });
  assert.deepEqual(a, b);
  const summary = summarize(syntheticSamples({ ...SMALL, seed: 31 }), NO_SLO);
  assert.equal(a.find((r) => r.name === 'median_ttft_ms')?.baseline, summary.median_ttft_ms);
  assert.equal(a.find((r) => r.name === 'output_throughput')?.baseline, summary.output_throughput);
});

test('repeats are resampled within themselves', () => {
  const rows = compare({ seed: 41, repeats: 3, seconds: 8 }, { seed: 42, repeats: 3, seconds: 8, latencyFactor: 1.3 });
  assert.equal(verdictOf(rows, 'median_ttft_ms'), 'regression');
  assert.equal(verdictOf(compare({ seed: 41, repeats: 3, seconds: 8 }, { seed: 43, repeats: 3, seconds: 8 }), 'median_ttft_ms'), 'no-change');
});
