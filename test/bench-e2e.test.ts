// The benchmark and its verdicts end to end, as users run them: make vllm on
// baseline and dev (simulated engines and routers on loopback), make
// vllm-compare, a slowed dev caught as a regression, LMCache shown as an
// improvement, make vllm-results and make vllm-visualize-results.
import assert from 'node:assert/strict';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Comparison } from '../scripts/lib/compare/comparison.js';
import { assertValid } from '../scripts/lib/results/schemas.js';
import { configureOnPorts, freePortBase, tempProject, type TempProject } from './support/temp-project.js';
import { e2eToolsMissing } from './support/configure.js';

/** Shorter than vllm-local's 20 s to keep CI quick; long enough for the verdicts' margins. */
const DURATION = 12;

/** The suites have their own end-to-end test (e2e-suites.test.ts); here they would only cost time. */
const configure = (p: TempProject, defconfig: string, base: number) => configureOnPorts(p, defconfig, base, {
  VLLM_BENCHMARK_DURATION: DURATION, VLLM_TEST_API: false, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false,
});

async function comparison(p: TempProject, runId: string): Promise<Comparison> {
  const c = JSON.parse(await readFile(join(p.dir, 'results', runId, 'compare.json'), 'utf8')) as Comparison;
  assertValid('compare', c, 'compare.json');
  return c;
}

const verdictOf = (c: Comparison, name: string) => c.metrics.find((m) => m.name === name)?.verdict;

async function slowDown(port: number, timeScale: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/admin/config`, { method: 'POST', body: JSON.stringify({ timeScale }) });
  assert.equal(res.status, 200, await res.text());
}

test('A/A is no-change; dev slowed by 30 % is a TTFT regression with a failing exit; results and report follow', { timeout: 420_000 }, async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  t.after(async () => {
    await p.make('vllm-teardown');
    await p.remove();
  });
  const base = await freePortBase(200);
  await configure(p, 'vllm-local+ab', base);

  const run = await p.make('vllm');
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /⏱ {2}vllm-baseline multi_round_qa running \d+\/12 s: \d+ done, 0 errors, \d+ in flight, p50 TTFT/, 'progress while it runs');
  assert.match(run.stdout, /⏱ {2}vllm-dev multi_round_qa/);
  const aa = await readlink(join(p.dir, 'results', 'latest'));
  const record = JSON.parse(await readFile(join(p.dir, 'results', aa, 'run.json'), 'utf8'));
  assert.equal(record.nodes['vllm-dev'].steps.benchmark, 'pass');
  for (const node of ['vllm-baseline', 'vllm-dev']) {
    const dir = join(p.dir, 'results', aa, node, 'bench');
    const result = JSON.parse(await readFile(join(dir, 'multi_round_qa.json'), 'utf8'));
    assertValid('bench-result', result, `${node} multi_round_qa.json`);
    assert.ok(result.completed > 50, `${node}: ${result.completed} requests`);
    assert.equal(result.failed, 0);
    assert.equal(result.warmup_requests, 10);
    assert.ok(result.prefix_cache_hit_rate > 0.3, 'the engines counted prefix-cache hits');
    assert.equal(result.engines.reduce((a: number, e: { requests: number }) => a + e.requests, 0), result.completed + result.warmup_requests, 'the engines served every request');
    const lines = (await readFile(join(dir, 'multi_round_qa.samples.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, result.completed + result.warmup_requests);
    assertValid('bench-sample', JSON.parse(lines[0] as string), 'a sample');
  }

  const same = await p.make('vllm-compare');
  assert.equal(same.exitCode, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /verdict: no-change/, same.stdout);
  assert.equal((await comparison(p, aa)).verdict, 'no-change');

  // The check: dev's engines 30 % slower, then a new benchmark of the running stacks.
  await slowDown(base + 101, 1.3);
  await slowDown(base + 102, 1.3);
  const bench = await p.make('vllm-benchmark');
  assert.equal(bench.exitCode, 0, bench.stdout + bench.stderr);
  const slow = await readlink(join(p.dir, 'results', 'latest'));
  assert.notEqual(slow, aa, 'make vllm-benchmark starts a new run');
  const regressed = await p.make('vllm-compare');
  assert.notEqual(regressed.exitCode, 0, 'a regression fails make');
  assert.match(regressed.stderr, /vllm-compare\] Error 1/, `the tool itself exited 1: ${regressed.stdout}${regressed.stderr}`);
  assert.match(regressed.stdout, /median_ttft_ms .* regression/, regressed.stdout);
  const c = await comparison(p, slow);
  assert.equal(c.verdict, 'regression');
  assert.equal(verdictOf(c, 'median_ttft_ms'), 'regression');
  // Across runs, one node's history: baseline did not change between the two runs.
  const history = await p.make('vllm-compare', `BASE=${aa}`, `DEV=${slow}`);
  assert.equal(history.exitCode, 0, history.stdout + history.stderr);
  assert.ok(await stat(join(p.dir, 'results', slow, `compare-${aa}.json`)));

  const results = await p.make('vllm-results');
  assert.equal(results.exitCode, 0, results.stderr);
  assert.match(results.stdout, new RegExp(`vllm-dev: run ${slow}`));
  assert.match(results.stdout, /TTFT {8}mean [\d.]+ ms, median/);
  const report = await p.make('vllm-visualize-results');
  assert.equal(report.exitCode, 0, report.stderr);
  const html = await readFile(join(p.dir, 'results', slow, 'report.html'), 'utf8');
  assert.equal((html.match(/<figure class="chart"/g) ?? []).length, 8);
  assert.match(html, /class="verdict regression">regression/);
});

test('+ab-lmcache: dev offloads KV to CPU and its TTFT is called an improvement, exit 0', { timeout: 300_000 }, async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  t.after(async () => {
    await p.make('vllm-teardown');
    await p.remove();
  });
  const base = await freePortBase(200);
  await configure(p, 'vllm-local+ab-lmcache', base);
  const run = await p.make('vllm');
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  const compare = await p.make('vllm-compare');
  assert.equal(compare.exitCode, 0, compare.stdout + compare.stderr);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const c = await comparison(p, runId);
  assert.equal(verdictOf(c, 'median_ttft_ms'), 'improvement', compare.stdout);
  assert.notEqual(c.verdict, 'regression');
  const dev = JSON.parse(await readFile(join(p.dir, 'results', runId, 'vllm-dev', 'bench', 'multi_round_qa.json'), 'utf8'));
  const baseline = JSON.parse(await readFile(join(p.dir, 'results', runId, 'vllm-baseline', 'bench', 'multi_round_qa.json'), 'utf8'));
  assert.ok(dev.offload_hits > 0, 'dev found blocks in its offload tier');
  assert.equal(baseline.offload_hits, null, 'baseline has no offload tier');
});
