// The suites as a user runs them: make vllm on an A/B configuration runs
// them on both nodes at once and writes their results; make vllm-test
// SUITES=... runs them again as a new run, and fails, naming the case and
// its result file, while a node's stack is broken.
import assert from 'node:assert/strict';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { NODE_PORT_STRIDE } from '../scripts/lib/config/node-config.js';
import { writeJsonAtomic } from '../scripts/lib/atomic-write.js';
import { suiteResultProblems } from '../scripts/lib/suites/result-file.js';
import type { SuiteResult } from '../scripts/lib/suites/types.js';
import { e2eProject, routerRoutes } from './support/e2e-project.js';


const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

test('make vllm runs the suites on both A/B nodes at once; make vllm-test fails on a broken stack, naming the case and its file', { timeout: 300_000 }, async (t) => {
  // The suites this test is about; scaling, lmcache and faults have their own tests.
  const project = await e2eProject(t, 'vllm-local+ab', { ports: 200, extra: { VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false, VLLM_BENCHMARK_ENABLED: false } });
  if (!project) return;
  const { p, base } = project;

  const run = await p.make('vllm');
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /vllm-baseline: 2 suite\(s\), \d+ passed, 0 failed, 1 skipped/);
  assert.match(run.stdout, /vllm-dev: 2 suite\(s\), \d+ passed, 0 failed, 1 skipped/);
  assert.match(run.stdout, /^ {2}… vllm-(baseline|dev): (api|routing) › .+ {2}(started|running \d+ s), \d+ requests sent so far/m, 'live progress while the suites ran');
  const first = await readlink(join(p.dir, 'results', 'latest'));
  // Progress sits under the suites' own header, and the run ends with its closing block.
  const header = run.stdout.indexOf('• Run the test suites against the stack');
  const progress = run.stdout.search(/^ {2}… vllm-/m);
  assert.ok(header >= 0 && header < progress, 'the suites\' header comes before their progress');
  assert.match(run.stdout, new RegExp(`━━ make vllm: run ${first} ✅ pass in \\d+ s ━━\nvllm-baseline {2}✅ pass {3}deploy ✅ {2}smoke ✅ {2}test ✅ {2}metrics ✅\n {2}suites {5}\\d+ passed, 0 failed, 1 skipped\nvllm-dev`));
  assert.match(run.stdout, new RegExp(`^results {6}results/${first}/$`, 'm'));
  assert.doesNotMatch(run.stdout, /localhost:|…$/m, 'no host prefix on the controller\'s summary, no cut column');
  const record = JSON.parse(await readFile(join(p.dir, 'results', first, 'run.json'), 'utf8'));
  assert.equal(record.verdict, 'pass');
  const read = async (runId: string, node: string, suite: string) => JSON.parse(await readFile(join(p.dir, 'results', runId, node, 'suites', `${suite}.json`), 'utf8')) as SuiteResult;
  const results: Record<string, SuiteResult[]> = {};
  for (const node of ['vllm-baseline', 'vllm-dev']) {
    assert.equal(record.nodes[node].steps.test, 'pass');
    results[node] = [await read(first, node, 'api'), await read(first, node, 'routing')];
    for (const r of results[node] ?? []) assert.deepEqual(suiteResultProblems(r), [], `${node} ${r.suite}.json matches the schema`);
  }
  // Both nodes at once: each node's suites overlap in time with the other's.
  const span = (rs: SuiteResult[]) => [Date.parse(rs[0]?.started_at ?? ''), Date.parse(rs.at(-1)?.ended_at ?? '')] as const;
  const [b0, b1] = span(results['vllm-baseline'] ?? []);
  const [d0, d1] = span(results['vllm-dev'] ?? []);
  assert.ok(b0 < d1 && d0 < b1, 'the nodes ran their suites at the same time');

  // Two breaks: an engine of the baseline answers every request with 500, and the dev node's live
  // router routes round robin although the node is configured prefix-aware. Each fails its suite.
  const engine1 = `http://127.0.0.1:${base + 2}`;
  await post(`${engine1}/admin/config`, { failureRate: 1, failureKinds: ['500'] });
  const config = join(p.dir, 'work', 'vllm-dev', 'router-config.json');
  const routerConfig = JSON.parse(await readFile(config, 'utf8'));
  await writeJsonAtomic(config, { ...routerConfig, routing_logic: 'roundrobin' });
  const devRouter = `http://127.0.0.1:${base + NODE_PORT_STRIDE}`;
  await routerRoutes(devRouter, 'roundrobin');
  const broken = await p.make('vllm-test', 'SUITES=api,routing');
  assert.notEqual(broken.exitCode, 0, 'make vllm-test fails');
  const said = broken.stdout + broken.stderr;
  const second = await readlink(join(p.dir, 'results', 'latest'));
  assert.notEqual(second, first, 'a new run');
  const file = (node: string, suite: string) => join(p.dir, 'results', second, node, 'suites', `${suite}.json`);
  assert.match(said, /FAILED vllm-baseline api › engine-1 directly: engine-1 answered the completion with HTTP 500/);
  assert.match(said, /FAILED vllm-dev routing › prefix affinity: only \d+ of \d+ follow-ups/);
  assert.ok(said.includes(`see ${file('vllm-baseline', 'api')}`) && said.includes(`see ${file('vllm-dev', 'routing')}`), said);
  assert.doesNotMatch(said, /FAILED vllm-dev api/);
  const brokenRun = JSON.parse(await readFile(join(p.dir, 'results', second, 'run.json'), 'utf8'));
  assert.equal(brokenRun.verdict, 'fail');
  assert.deepEqual([brokenRun.nodes['vllm-baseline'].steps.test, brokenRun.nodes['vllm-dev'].steps.test], ['fail', 'fail']);
  assert.equal((await read(second, 'vllm-dev', 'api')).status, 'passed');

  // Healthy again, they pass.
  await post(`${engine1}/admin/config`, { failureRate: 0 });
  await writeJsonAtomic(config, routerConfig);
  await routerRoutes(devRouter, routerConfig.routing_logic);
  for (const [node, suite] of [['vllm-baseline', 'api'], ['vllm-dev', 'routing']] as const) {
    const healed = await $({ cwd: p.dir, nothrow: true, quiet: true })`node dist/scripts/vllm-node.js test --node ${node} --suites ${suite}`;
    assert.equal(healed.exitCode, 0, healed.stdout + healed.stderr);
    assert.match(healed.stdout, new RegExp(`${node}: ${suite}: \\d+ cases?, \\d+ passed, 0 failed`));
  }
});
