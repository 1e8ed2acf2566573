import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSimplified, simplifiedReport } from '../scripts/lib/status/format-status.js';
import { nextSteps, nodeState, type NodeStatus, type StatusReport } from '../scripts/lib/status/node-status.js';
import { sumMetric } from '../scripts/lib/vocabulary/prometheus-text.js';

test('node state follows the liveness of router and engines', () => {
  const cases: [boolean, boolean, boolean | null, number, number, string][] = [
    [true, true, true, 2, 2, 'deploying'],
    [false, false, null, 0, 0, 'stopped'],
    [false, true, true, 2, 2, 'running'],
    [false, true, null, 1, 1, 'running'],
    [false, true, true, 1, 2, 'degraded'],
    [false, true, false, 2, 2, 'degraded'],
    [false, true, false, 0, 2, 'stopped'],
    [false, true, true, 0, 0, 'degraded'],
  ];
  for (const [deploying, deployed, router, ready, total, want] of cases) {
    assert.equal(nodeState(deploying, deployed, router, ready, total), want, JSON.stringify({ deploying, deployed, router, ready, total }));
  }
});

test('metric sums read only the named metric, across label sets', () => {
  const text = [
    '# HELP vllm:num_requests_running x', '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{model_name="m"} 3', 'vllm:num_requests_running{model_name="n"} 2',
    'vllm:num_requests_running_extra 100', 'vllm:num_requests_waiting 1',
  ].join('\n');
  assert.equal(sumMetric(text, 'vllm:num_requests_running'), 5);
  assert.equal(sumMetric(text, 'vllm:num_requests_waiting'), 1);
  assert.equal(sumMetric(text, 'vllm:kv_cache_usage_perc'), null);
});

function node(state: NodeStatus['state'], problems: string[] = []): NodeStatus {
  return {
    node: 'vllm-baseline', role: 'baseline', target: 'local', state, router_url: 'http://127.0.0.1:8000', router_running: true,
    router_impl: 'builtin', routing_logic: 'prefixaware', engine_kind: 'sim', lmcache: false, engines_ready: 1, engines_total: 2,
    models: ['facebook/opt-125m'], engines: [], prometheus_url: null, deployed_at: null, work_dir: '/w', configured: true, drift: [], busy: null, problems,
  };
}

test('the simplified status names state, router, engines, last run and next steps', () => {
  const nodes = [node('degraded', ['engine-1 is not running (crashed or killed); its log: /w/logs/engine-1.log'])];
  const lastRun = { run_id: '20261123-060102-ab12', verdict: 'fail', started_at: '', path: 'results/20261123-060102-ab12' };
  const report: StatusReport = { generated_at: '', target: 'local', ab: false, nodes, last_run: lastRun, hints: nextSteps(nodes, lastRun) };
  const text = formatSimplified(report);
  assert.match(text, /🟡 vllm-baseline degraded/);
  assert.match(text, /router http:\/\/127\.0\.0\.1:8000 \(builtin, prefixaware\)/);
  assert.match(text, /1\/2 engines ready serving facebook\/opt-125m/);
  assert.match(text, /engine-1 is not running/);
  assert.match(text, /❌ last run 20261123-060102-ab12: fail/);
  assert.match(text, /make vllm .*restarts what crashed/);
  assert.match(text, /look at results\/20261123-060102-ab12/);
});

test('a stopped stack suggests deploying, a running one suggests the quick test', () => {
  assert.match(nextSteps([node('stopped')], null).join('\n'), /make vllm /);
  assert.match(nextSteps([node('running')], null).join('\n'), /make vllm-quick-test/);
});

test('status says what changed since deploy, which deployed nodes the configuration no longer has, and that there is no .config', () => {
  const drifted = { ...node('running'), drift: ['router.routingLogic: prefixaware → roundrobin'] };
  const orphan = { ...node('running'), node: 'vllm-dev', role: 'dev' as const, configured: false };
  const report: StatusReport = { generated_at: '', target: 'local', ab: false, nodes: [drifted, orphan], last_run: null, hints: nextSteps([drifted, orphan], null) };
  const text = formatSimplified(report);
  assert.match(text, /⚠️ {2}configuration changed since deploy: run make vllm \(router\.routingLogic: prefixaware → roundrobin\)/);
  assert.match(text, /🟢 vllm-dev running \(not in the configuration\)/);
  assert.equal(report.hints[0], 'make vllm            # the configuration changed since deploy: redeploy it');
  assert.match(report.hints[1] ?? '', /^make vllm-teardown {3}# stops vllm-dev, deployed but no longer configured/);
  assert.equal(report.hints.filter((h) => h.startsWith('make vllm ')).length, 1, 'one hint per command');
  const none: StatusReport = { generated_at: '', target: null, ab: false, nodes: [orphan], last_run: null, hints: nextSteps([orphan], null, false) };
  assert.match(formatSimplified(none), /^🚀 vLLM stack: no configuration \(no \.config\)/);
  assert.match(none.hints[0] ?? '', /^make defconfig-vllm-local/);
});

test('the simplified JSON is its own small shape: one overall state and a line of facts per node', () => {
  const nodes = [node('running'), { ...node('degraded', ['engine-1 is not running']), node: 'vllm-dev', role: 'dev' as const, drift: ['replicas: 2 → 1'] }];
  const lastRun = { run_id: '20261123-060102-ab12', verdict: 'pass', started_at: '', path: 'results/20261123-060102-ab12' };
  const short = simplifiedReport({ generated_at: 'now', target: 'local', ab: true, nodes, last_run: lastRun, hints: ['h'] });
  assert.deepEqual(short, {
    generated_at: 'now', target: 'local', state: 'degraded',
    nodes: [
      { node: 'vllm-baseline', state: 'running', configured: true, config_changed: false, router_url: 'http://127.0.0.1:8000', engines_ready: 1, engines_total: 2, problems: [] },
      { node: 'vllm-dev', state: 'degraded', configured: true, config_changed: true, router_url: 'http://127.0.0.1:8000', engines_ready: 1, engines_total: 2, problems: ['engine-1 is not running'] },
    ],
    last_run: { run_id: '20261123-060102-ab12', verdict: 'pass' }, hints: ['h'],
  });
  assert.equal(simplifiedReport({ generated_at: '', target: 'local', ab: false, nodes: [node('stopped')], last_run: null, hints: [] }).state, 'stopped');
});
