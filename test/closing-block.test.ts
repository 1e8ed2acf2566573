// make vllm ends with one block per run: verdict, each node's steps, suites
// and benchmark headline, the A/B verdict with two nodes, where the results and
// the report are, and what to run next.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closingBlock } from '../scripts/lib/report/closing-block.js';
import { runOutcome } from '../scripts/lib/run-control/run-outcome.js';
import { writeSyntheticRun } from './support/synthetic-run.js';

const THRESHOLDS = { ttft: 10, itl: 10, e2el: 10, tail: 25, throughput: 10, error_rate: 1 };

test('A/B: the closing block gives both nodes\' headlines, the verdict with the regressed metrics, the report and next steps', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'closing-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  const runId = await writeSyntheticRun(results, {
    'vllm-baseline': { seed: 1, users: 4, seconds: 8 },
    'vllm-dev': { seed: 2, users: 4, seconds: 8, ttftFactor: 1.6 },
  });
  const outcome = await runOutcome(results, runId, 'make vllm', THRESHOLDS, dir);
  const text = closingBlock(outcome).join('\n');
  assert.match(text, new RegExp(`━━ make vllm: run ${runId} `));
  assert.match(text, /^vllm-baseline {2}/m);
  assert.match(text, /^vllm-dev {7}/m);
  assert.match(text, /^ {2}benchmark {2}multi_round_qa: [\d.]+ req\/s, \d+ output tok\/s, TTFT p50 [\d.]+ ms p99 [\d.]+ ms/m);
  assert.match(text, /^A\/B {10}❌ regression: dev against baseline, \d+ metrics$/m);
  assert.match(text, /^ {13}❌ multi_round_qa median_ttft_ms: \+\d+\.\d %/m);
  assert.match(text, new RegExp(`^results {6}results/${runId}/$`, 'm'));
  assert.match(text, new RegExp(`^report {7}results/${runId}/report\\.html$`, 'm'));
  assert.match(text, /^next {9}make vllm-compare/m);
  assert.doesNotMatch(text, /localhost:|…/);
  assert.ok(await stat(join(results, runId, 'report.html')));
  assert.ok(await stat(join(results, runId, 'compare.json')), 'the verdict shown is the one make vllm-compare reads');
});

test('one node: suites counted, failed cases named, the next step says how to compare runs', () => {
  const text = closingBlock({
    command: 'make vllm', runId: '20261207-010203-abcd', verdict: 'fail', seconds: 87, interrupted: null,
    nodes: [{ node: 'vllm-baseline', verdict: 'fail', steps: { deploy: 'pass', smoke: 'pass', test: 'fail' }, suites: { passed: 20, failed: 1, skipped: 2, failedCases: ['routing › prefix affinity'] }, bench: [] }],
    ab: null, resultsPath: 'results/20261207-010203-abcd', reportPath: null, previousRun: null,
  }).join('\n');
  assert.match(text, /━━ make vllm: run 20261207-010203-abcd ❌ fail in 87 s ━━/);
  assert.match(text, /vllm-baseline {2}❌ fail {3}deploy ✅ {2}smoke ✅ {2}test ❌/);
  assert.match(text, /suites {5}20 passed, 1 failed, 2 skipped\n {13}❌ routing › prefix affinity/);
  assert.match(text, /make vllm-test SUITES=routing/);
  assert.doesNotMatch(text, /^A\/B/m, 'no A/B line with one node');
});

test('a node lost mid-run: the closing block says why and where its logs are', () => {
  const text = closingBlock({
    command: 'make vllm', runId: '20261207-010203-abcd', verdict: 'fail', seconds: 87, interrupted: null,
    nodes: [{ node: 'vllm-dev', verdict: 'fail', steps: {}, suites: null, bench: [], lost: { reason: 'unreachable: Failed to connect to the host via ssh', logs: '/srv/h/work/vllm-dev/logs' } }],
    ab: null, resultsPath: 'results/20261207-010203-abcd', reportPath: null, previousRun: null,
  }).join('\n');
  assert.match(text, /vllm-dev {2}❌ fail {3}\(no step recorded\)\n {2}lost {7}unreachable: Failed to connect to the host via ssh\n {13}its logs: \/srv\/h\/work\/vllm-dev\/logs on the host/);
});
