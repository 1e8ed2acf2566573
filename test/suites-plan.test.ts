// The suites' pure parts: which suites run (every VLLM_TEST_* option
// changes which or how), the result schema, the tables, the engine-metrics
// reader, the usage checks and the deterministic prompt text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readKconfigTree, varName, type ExtraVars } from '../scripts/lib/config/index.js';
import { routerCommand } from '../scripts/lib/targets/local/process-commands.js';
import type { NodePlan } from '../scripts/lib/vocabulary/node-plan.js';
import { localExpectations, selectSuites, testParams } from '../scripts/lib/suites/index.js';
import { countersFrom, delta, loadSkew } from '../scripts/lib/suites/engine-metrics.js';
import { parseMetricsText } from '../scripts/lib/vocabulary/prometheus-text.js';
import { suiteResultProblems } from '../scripts/lib/suites/result-file.js';
import { anyFailed, formatFailures, formatNodeTable } from '../scripts/lib/suites/table.js';
import { shuffle, words } from '../scripts/lib/suites/text.js';
import type { SuiteResult } from '../scripts/lib/suites/types.js';
import { usageProblems } from '../scripts/lib/suites/usage-check.js';
import type { SuiteContext } from '../scripts/lib/suites/context.js';
import type { CaseRun } from '../scripts/lib/suites/runner.js';
import { scalingSuite } from '../scripts/lib/suites/scaling.js';
import { REPO } from './support/temp-project.js';

const DEFAULTS = {
  vllm_test_api: true, vllm_test_routing: true, vllm_test_scaling: false, vllm_test_lmcache: false, vllm_test_lora: false, vllm_test_pd: false, vllm_test_faults: false,
  vllm_test_load_rate: 40, vllm_test_case_seconds: 2, vllm_test_tolerance_pct: 15,
} satisfies Partial<ExtraVars>;

test('the configured suites run in a fixed order; SUITES= replaces them and names a wrong suite', () => {
  assert.deepEqual(selectSuites(DEFAULTS), ['api', 'routing']);
  assert.deepEqual(selectSuites({ ...DEFAULTS, vllm_test_faults: true, vllm_test_api: false }), ['routing', 'faults']);
  assert.deepEqual(selectSuites(DEFAULTS, 'faults, api'), ['api', 'faults'], 'order is the suites\' own');
  assert.deepEqual(selectSuites(DEFAULTS, ''), ['api', 'routing']);
  assert.throws(() => selectSuites(DEFAULTS, 'routing,lmcahce'), /SUITES names "lmcahce", which is not a suite; the suites are api, routing, scaling, lmcache, lora, pd, faults/);
});

test('every VLLM_TEST_* option changes which suites run or how they measure', () => {
  const symbols = [...readKconfigTree(join(REPO, 'Kconfig')).values()].filter((s) => s.name.startsWith('VLLM_TEST_'));
  assert.ok(symbols.length >= 8, symbols.map((s) => s.name).join(', '));
  const plan = (v: typeof DEFAULTS) => JSON.stringify({ suites: selectSuites(v), params: testParams(v) });
  for (const s of symbols) {
    const key = varName(s.name) as keyof typeof DEFAULTS;
    assert.ok(key in DEFAULTS, `${s.name} is read by the suites (add it to this test's defaults)`);
    const value = DEFAULTS[key];
    const changed = typeof value === 'boolean' ? !value : (s.range?.[1] ?? value + 1) === value ? value - 1 : value + 1;
    assert.notEqual(plan({ ...DEFAULTS, [key]: changed }), plan(DEFAULTS), `CONFIG_${s.name} changes nothing the suites do`);
  }
});

const SPEC = {
  node: 'vllm-baseline', role: 'baseline', workDir: '/w', stateDir: '/s', routerHost: '127.0.0.1', routerPort: 8000, enginePortBase: 8001, replicas: 2, maxReplicas: 4,
  engine: { kind: 'sim', modelUrl: 'm', servedModelName: 'm', lmcacheEnabled: true, flags: [], env: {}, readyTimeoutMs: 1, drainTimeoutMs: 1 },
  router: { impl: 'builtin', routingLogic: 'session', sessionKey: 'x-user-id', engineStatsInterval: 1, requestStatsWindow: 60, outlierConsecutive5xx: 5, requestTimeout: 7, maxConcurrency: 99, env: {} },
  prometheus: null,
} satisfies NodePlan;

test('the router\'s request timeout and concurrency limit reach its command line and the fault suite\'s expectations', () => {
  const spec = SPEC;
  const args = routerCommand(spec, [0, 1]).args;
  assert.equal(args[args.indexOf('--request-timeout') + 1], '7');
  assert.equal(args[args.indexOf('--max-concurrency') + 1], '99');
  const vars = { vllm_target: 'local', vllm_max_num_seqs: 32, vllm_max_model_len: 2048, vllm_enable_prefix_caching: true, vllm_autoscaling_enabled: true } as const;
  const expect = localExpectations(spec, vars, undefined);
  assert.deepEqual([expect.requestTimeoutS, expect.maxConcurrency, expect.outlierConsecutive5xx, expect.routingLogic, expect.lmcacheEnabled, expect.maxReplicas], [7, 99, 5, 'session', true, 4]);
  const ps = localExpectations({ ...spec, router: { ...spec.router, impl: 'production-stack' } }, vars, undefined);
  assert.deepEqual([ps.requestTimeoutS, ps.maxConcurrency, ps.outlierConsecutive5xx], [null, null, null], 'the production-stack router has none of them');
  assert.equal(localExpectations({ ...spec, router: null }, vars, undefined).routingLogic, null);
});

test('with KEDA owning the engine replicas on Kubernetes, the scaling suite skips saying so, and scales nothing', async () => {
  const spec = SPEC;
  const vars = { vllm_max_num_seqs: 32, vllm_max_model_len: 2048, vllm_enable_prefix_caching: true, vllm_autoscaling_enabled: true } as const;
  // Locally the autoscaling switch only bounds the count the suites may scale to.
  assert.equal(localExpectations(spec, { ...vars, vllm_target: 'local' }, undefined).kedaScaled, false);
  const expect = localExpectations(spec, { ...vars, vllm_target: 'minikube' }, undefined);
  assert.equal(expect.kedaScaled, true);
  const stack = { scale: () => assert.fail('the suite scaled a KEDA-owned Deployment') } as unknown as SuiteContext['stack'];
  const cases = await scalingSuite.cases({ expect, stack } as SuiteContext);
  assert.equal(cases.length, 1);
  await assert.rejects(async () => cases[0]?.run({ skip: (reason: string) => { throw new Error(reason); } } as unknown as CaseRun), /KEDA owns the engine replica count/);
});

function result(over: Partial<SuiteResult> = {}): SuiteResult {
  return {
    suite: 'routing', node: 'vllm-baseline', target: 'local', started_at: '2026-01-01T00:00:00.000Z', ended_at: '2026-01-01T00:00:02.000Z',
    status: 'failed', duration_s: 2,
    cases: [
      { name: 'prefix affinity', status: 'failed', expectation: 'follow-ups on the first engine (≥ 95 %)', measured: { affinity: 0.5 }, summary: 'affinity 50.0 %', reason: 'only 9 of 18 follow-ups …', duration_s: 1.2 },
      { name: 'wrong API key', status: 'skipped', expectation: '401', measured: {}, summary: '', reason: 'no API key is configured', duration_s: 0 },
    ],
    engines: [{ engine: 'engine-0', requests: 12, prefix_cache_queries: 100, prefix_cache_hits: 50, prefix_cache_hit_rate: 0.5 }],
    load_skew: 1.2,
    ...over,
  };
}

test('suite results are checked against schemas/suite-result.schema.json', () => {
  assert.deepEqual(suiteResultProblems(result()), []);
  const noReason = result();
  delete (noReason.cases[1] as { reason?: string }).reason;
  assert.match(suiteResultProblems(noReason).join('\n'), /cases\/1 must have required property 'reason'/, 'a skipped case says why');
  assert.match(suiteResultProblems(result({ suite: 'speed' as SuiteResult['suite'] })).join('\n'), /\/suite must be equal to one of the allowed values/);
  assert.match(suiteResultProblems(result({ cases: [] })).join('\n'), /\/cases must NOT have fewer than 1 items/, 'a suite never passes with no case');
  assert.match(suiteResultProblems({ ...result(), extra: 1 }).join('\n'), /must NOT have additional properties/);
});

test('the table shows each case with its status, measurement and expectation; failures name their result file', () => {
  const nodes = [{ node: 'vllm-baseline', results: [result()], files: { routing: '/r/vllm-baseline/suites/routing.json' } }];
  const lines = formatNodeTable(nodes[0] as (typeof nodes)[0], 140);
  assert.equal(lines[0], 'vllm-baseline: 1 suite(s), 0 passed, 1 failed, 1 skipped (2.0 s)');
  assert.match(lines[1] ?? '', /^ {2}suite\s+case\s+status\s+measured\s+expectation$/);
  assert.match(lines[2] ?? '', /routing\s+prefix affinity\s+❌ failed\s+affinity 50\.0 %\s+follow-ups on the first engine/);
  assert.match(lines[3] ?? '', /wrong API key\s+⏭ {2}skipped\s+no API key is configured/);
  assert.ok(lines.every((l) => [...l].length <= 140), 'fits the width');
  const long = result({ cases: [{ ...result().cases[0]!, summary: 'outage 0.81 s, 33/118 failed, restart took 0.52 s', expectation: 'restart the router under 40 requests/s: clients see errors only while it is down, and it serves again within 10 s' }] });
  const narrow = formatNodeTable({ node: 'vllm-baseline', results: [long], files: {} }, 90);
  assert.deepEqual(formatNodeTable({ node: 'vllm-dev', results: [], files: {}, lost: 'unreachable: no route' }), ['vllm-dev: ❌ FAILED, no suite result came home: unreachable: no route'], 'a lost node says why it has no table');
  assert.ok(narrow.every((l) => !l.includes('…')), `nothing is cut off:\n${narrow.join('\n')}`);
  const words = narrow.join(' ').split(/\s+/);
  for (const text of [long.cases[0]!.summary, long.cases[0]!.expectation]) {
    for (const w of text.split(' ')) assert.ok(words.includes(w), `"${w}" is shown`);
  }
  assert.ok(narrow.length > 4, 'long texts wrap onto lines of their own');
  assert.ok(narrow.every((l) => [...l].length <= 90), 'and it fits the width');
  assert.deepEqual(formatFailures(nodes), ['FAILED vllm-baseline routing › prefix affinity: only 9 of 18 follow-ups …\n       see /r/vllm-baseline/suites/routing.json']);
  assert.equal(anyFailed(nodes), true);
  assert.equal(anyFailed([{ ...nodes[0], results: [result({ status: 'passed' })] } as (typeof nodes)[0]]), false);
});

test('engine counters are read from vLLM\'s metric names, with the older names and LMCache\'s as fallbacks', () => {
  const text = [
    '# HELP vllm:request_success_total Count',
    'vllm:request_success_total{finished_reason="stop",model_name="m"} 3',
    'vllm:request_success_total{finished_reason="length",model_name="m"} 4',
    'vllm:request_prompt_tokens_count{model_name="m"} 8',
    'vllm:gpu_prefix_cache_queries_total{model_name="m"} 1000',
    'vllm:gpu_prefix_cache_hits_total{model_name="m"} 250',
    'lmcache:num_hit_tokens_total{model_name="m"} 64',
    'vllm:num_requests_running{model_name="m"} 2',
    'vllm:cache_config_info{block_size="16",num_gpu_blocks="4096",enable_prefix_caching="True"} 1',
  ].join('\n');
  const c = countersFrom(text);
  assert.deepEqual([c.succeeded, c.admitted, c.prefixQueries, c.prefixHits, c.offloadHits, c.running, c.blockSize, c.gpuBlocks], [7, 8, 1000, 250, 64, 2, 16, 4096]);
  assert.deepEqual(parseMetricsText('a{x="q\\"uote"} 1\nbroken line\nb 2', { unreadable: 'skip' })[0]?.labels, { x: 'q"uote' });
  assert.deepEqual(parseMetricsText('a 1\nbroken line\nb 2', { unreadable: 'skip' }).map((x) => x.name), ['a', 'b']);
  assert.throws(() => parseMetricsText('a 1\nbroken line\nb 2'), /unreadable metrics line: broken line/);
  const restarted = delta(c, { ...c, succeeded: 2 });
  assert.equal(restarted.succeeded, 2, 'a counter that went down means a restart: the new value is all there is');
  assert.equal(delta(c, { ...c, succeeded: 10 }).succeeded, 3);
  assert.equal(countersFrom('').blockSize, null);
  assert.equal(loadSkew([10, 10]), 1);
  assert.equal(loadSkew([15, 5]), 1.5);
  assert.equal(loadSkew([0, 0]), null);
});

test('usage is consistent or each problem is named', () => {
  assert.deepEqual(usageProblems({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 0 } }, 8), []);
  assert.deepEqual(usageProblems({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 9 }, 8), ['total_tokens 9 ≠ prompt_tokens 5 + completion_tokens 3']);
  assert.deepEqual(usageProblems({ prompt_tokens: 5, completion_tokens: 9, total_tokens: 14, prompt_tokens_details: { cached_tokens: 6 } }, 8),
    ['completion_tokens 9 is outside 1..max_tokens (8)', 'cached_tokens 6 is not within 0..prompt_tokens (5)']);
  assert.deepEqual(usageProblems(null, 8), ['no usage in the answer']);
  assert.match(usageProblems({ prompt_tokens: '5' }, 8)[0] ?? '', /not three token counts/);
});

test('prompt text is deterministic per seed, and shuffles are permutations', () => {
  assert.equal(words('a', 20), words('a', 20));
  assert.notEqual(words('a', 20), words('b', 20));
  assert.equal(words('a', 20).split(' ').length, 20);
  const items = Array.from({ length: 30 }, (_, i) => i);
  const s = shuffle(items, 'seed');
  assert.deepEqual([...s].sort((a, b) => a - b), items);
  assert.notDeepEqual(s, items);
  assert.deepEqual(shuffle(items, 'seed'), s);
});
