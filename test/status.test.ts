import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSimplified } from '../scripts/lib/status/format-status.js';
import { nextSteps, nodeState, type NodeStatus, type StatusReport } from '../scripts/lib/status/node-status.js';
import { sumMetric } from '../scripts/lib/status/prometheus-text.js';

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
    models: ['facebook/opt-125m'], engines: [], prometheus_url: null, deployed_at: null, work_dir: '/w', problems,
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
