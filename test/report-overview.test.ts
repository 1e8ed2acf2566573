// report.html at a glance: a banner with the run's and each node's verdict
// and benchmark headline (also for a single node), and this run's verdicts
// against earlier runs (make vllm-compare across runs) drawn beside the A/B one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderReport } from '../scripts/lib/report/report-html.js';
import { compareFile, compareRuns, writeComparison } from '../scripts/lib/results/compare-runs.js';
import { runBenchmarks, runHistory } from '../scripts/lib/results/run-benchmarks.js';
import { writeSyntheticRun } from './support/synthetic-run.js';

const THRESHOLDS = { ttft: 10, itl: 10, e2el: 10, tail: 25, throughput: 10, error_rate: 1 };

test('a single-node report has an overview banner and draws its verdict against an earlier run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'report-history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  const before = await writeSyntheticRun(results, { 'vllm-baseline': { seed: 1, users: 4, seconds: 8 } });
  const after = await writeSyntheticRun(results, { 'vllm-baseline': { seed: 2, users: 4, seconds: 8, ttftFactor: 1.5 } });
  const sides = { base: { runId: before, node: 'vllm-baseline' }, dev: { runId: after, node: 'vllm-baseline' } };
  const c = await compareRuns(results, sides, THRESHOLDS, 200);
  await writeComparison(compareFile(results, sides), c);
  const history = await runHistory(results, after);
  assert.equal(history.length, 1);
  const { run, workloads } = await runBenchmarks(results, after);
  const html = await renderReport({ run, workloads, compare: null, history });
  assert.match(html, /<div class="banner overview">/);
  assert.match(html, /<b>vllm-baseline<\/b>/);
  assert.match(html, /multi_round_qa: [\d.]+ req\/s, TTFT p50 \d+ ms, \d+ ok \/ 0 failed/);
  assert.match(html, new RegExp(`Against an earlier run: ${before}:vllm-baseline → ${after}:vllm-baseline`));
  assert.match(html, /verdict: <span class="verdict regression">regression<\/span>/);
  assert.match(html, /<th>earlier run<\/th><th>this run<\/th>/);
  assert.doesNotMatch(html, /Baseline vs dev/, 'one node: no A/B section');
  assert.match(html, /<td>TTFT median, round 1 \(cold\) \/ later rounds \(warm\) \(ms\)<\/td><td>[\d.]+ \/ [\d.]+<\/td>/);
  assert.match(html, /Multi-round QA's TTFT comes in two steps/);
});
