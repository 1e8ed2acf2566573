// The proof that the shipped dashboards show real data: a local stack with
// Prometheus scraping every second, a short multi-user load (streamed and
// not, shared prefixes, revisited conversations, some failures), then every
// panel query of every dashboard in observability/dashboards/ run against that
// Prometheus with its variables set to values that exist.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { which } from 'zx';
import { parseMetricsText } from '../scripts/lib/vocabulary/prometheus-text.js';
import { takeSnapshot } from '../scripts/lib/observability/metrics-snapshot.js';
import { PrometheusApi } from '../scripts/lib/observability/prometheus-api.js';
import { snapshotSources } from '../scripts/lib/targets/local/metrics-sources.js';
import { LocalStack } from '../scripts/lib/targets/local/local-stack.js';
import { nodePlan, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';
import { checkPanelQueries, formatFindings, panelQueries, substitute, variableValues, type Dashboard, type Expectation } from './support/dashboard-queries.js';
import { driveLoad } from './support/chat-load.js';
import { freePortBase, REPO } from './support/temp-project.js';

const ENGINES = 2;
const MODEL = 'facebook/opt-125m';
const DASHBOARDS = join(REPO, 'observability', 'dashboards');

const vars: StackConfigVars = {
  vllm_engine: 'sim', vllm_model_url: MODEL, vllm_model_name: '', vllm_replica_count: ENGINES,
  vllm_max_model_len: 4096, vllm_max_num_seqs: 8, vllm_dtype: 'auto', vllm_gpu_memory_utilization: 90,
  vllm_tensor_parallel_size: 1, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: true,
  // Fast answers, and a GPU cache of 1,024 tokens, so that conversations get evicted to the offload tier.
  vllm_sim_prefill_time_per_token_us: 50, vllm_sim_inter_token_latency_us: 2000, vllm_sim_kv_blocks: 64, vllm_sim_block_size: 16,
  vllm_sim_load_factor_pct: 150, vllm_sim_seed: 7, vllm_sim_offload_time_per_token_us: 5, vllm_lmcache_cpu_buffer_size: 1, vllm_lmcache_disk_buffer_size: '',
  vllm_router_enabled: true, vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 1, vllm_router_request_stats_window: 60,
  // Off: the engines answer 500 on purpose below, and an engine ejected for it would leave its panels without data.
  vllm_router_outlier_consecutive_5xx: 0,
  vllm_router_request_timeout: 600, vllm_router_max_concurrency: 4096,
  vllm_observability_enabled: true, vllm_autoscaling_enabled: false, vllm_autoscaling_max_replicas: ENGINES,
  vllm_prometheus_scrape_interval: 1, vllm_alert_error_rate_pct: 5, vllm_alert_ttft_p95_ms: 2000, vllm_alert_kv_cache_usage_pct: 90, vllm_alert_queue_depth: 10,
};

const allEqual = (want: number, what: string): Expectation => (samples) =>
  samples.every((s) => s.value === want) ? null : `${what} should be ${want}, got ${samples.map((s) => s.value).join(', ')}`;
const positive: Expectation = (samples) => (samples.some((s) => s.value > 0) ? null : `is 0 after a load: ${samples.map((s) => s.value).join(', ')}`);

// Beyond "data, finite, within the panel's min and max": what this load must show.
const EXPECTED: Record<string, Expectation> = {
  'Available vLLM instances': allEqual(ENGINES, 'instances'),
  'Targets up': (samples) => samples.length !== ENGINES + 1 ? `should list ${ENGINES + 1} targets, lists ${samples.length}` : allEqual(1, 'up')(samples),
  'Router QPS': positive,
  'Router QPS by model and engine': positive,
  'Prefix cache hit rate': positive,
  'Token throughput': positive,
  'Request latency distribution': positive,
  'Time to first token distribution': positive,
  'Requests per second per engine': positive,
  // One engine in five answers 500 (about a dozen errors in the load), so the ratio cannot stay 0.
  'Error rate': positive,
  'Per-engine load skew': (samples) => samples.every((s) => s.value <= ENGINES) ? null : `skew above the engine count: ${samples.map((s) => s.value).join(', ')}`,
};

async function dashboards(): Promise<{ file: string; dashboard: Dashboard }[]> {
  const files = (await readdir(DASHBOARDS)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => ({ file, dashboard: JSON.parse(await readFile(join(DASHBOARDS, file), 'utf8')) as Dashboard })));
}

test('every panel query of every shipped dashboard returns plausible data from a live stack', { timeout: 120_000 }, async (t) => {
  if (!(await which('prometheus', { nothrow: true }))) return t.skip('prometheus is not installed (make deps installs it)');
  const dir = await mkdtemp(join(tmpdir(), 'vllm-panels-'));
  const base = await freePortBase(100);
  const node: StackNodeSettings = {
    name: 'vllm-baseline', role: 'baseline', host: null, workDir: dir, stateDir: join(dir, '.deployed'), routerPort: base, enginePortBase: base + 1,
    prometheusPort: base + 90, routerImpl: 'builtin', routingLogic: 'prefixaware', lmcacheEnabled: true,
    // Some answers fail on purpose, so that error panels have something to show.
    extraEngineArgs: ['--failure-rate', '0.2', '--failure-kinds', '500'],
  };
  const spec = nodePlan(vars, node);
  const stack = await LocalStack.deploy(spec);
  t.after(async () => {
    await stack.teardown();
    await rm(dir, { recursive: true, force: true });
  });
  const prometheus = new PrometheusApi(`http://127.0.0.1:${node.prometheusPort}`);

  const load = await driveLoad(stack.routerUrl, MODEL, { users: 4, seconds: 6 });
  t.diagnostic(`load: ${load.sent} requests (${load.streamed} streamed), ${load.ok} answered, ${load.failed} failed`);
  assert.ok(load.ok >= 10 && load.streamed >= 5, `the load got ${load.ok} answers, ${load.streamed} streamed`);
  // Wait until Prometheus has scraped the whole load, as the engines and the router count it themselves.
  const engines = await stack.engines();
  const pages = await Promise.all([...engines.map((e) => e.metricsUrl), `${stack.routerUrl}/metrics`].map(async (url) => parseMetricsText(await (await fetch(url)).text())));
  const total = (name: string) => pages.flat().filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
  const wanted = { 'vllm:e2e_request_latency_seconds_count': total('vllm:e2e_request_latency_seconds_count'), 'vllm:num_incoming_requests_total': total('vllm:num_incoming_requests_total') };
  assert.equal(wanted['vllm:num_incoming_requests_total'], load.sent, 'the router counted every request');
  const deadline = Date.now() + 20_000;
  for (const [metric, count] of Object.entries(wanted)) {
    for (;;) {
      const seen = (await prometheus.query(`sum(${metric})`))[0]?.value ?? 0;
      if (seen === count) break;
      assert.ok(Date.now() < deadline, `Prometheus saw ${seen} of ${count} for ${metric}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // What Grafana would put in for a 5-minute view scraped every second.
  const builtins = { __rate_interval: '1m', __interval: '1s', __range: '5m' };
  for (const { file, dashboard } of await dashboards()) {
    const queries = panelQueries(file, dashboard);
    const values = await variableValues(dashboard, prometheus, builtins);
    const findings = await checkPanelQueries(queries, prometheus, values, EXPECTED);
    assert.deepEqual(findings, [], `${file}: panel queries without plausible data (variables: ${JSON.stringify(values)}):\n${formatFindings(findings)}`);
    if (process.env.PANELS_VERBOSE) {
      for (const q of queries) t.diagnostic(`${q.panel} ${q.refId}: ${JSON.stringify((await prometheus.query(substitute(q.expr, values))).map((s) => [Object.values(s.labels).join(' '), s.value]))}`);
    }
    t.diagnostic(`${file}: ${queries.length} queries of ${new Set(queries.map((q) => q.panel)).size} panels return plausible data`);
  }

  await t.test('the run-end snapshot holds the key series from Prometheus and every page\'s totals', async () => {
    const snapshot = await takeSnapshot(await snapshotSources(stack));
    assert.equal(snapshot.source, 'prometheus');
    assert.deepEqual(snapshot.problems, []);
    const names = new Set(snapshot.series.map((s) => s.name));
    for (const name of ['targets_up', 'router_requests_per_second', 'ttft_p95_seconds', 'prefix_cache_hit_rate', 'lmcache_hit_rate']) assert.ok(names.has(name), `series ${name}`);
    const ttft = snapshot.series.find((s) => s.name === 'ttft_p95_seconds');
    assert.ok(ttft?.values.some(([, v]) => v !== null && v > 0), 'TTFT p95 has values over the run');
    assert.deepEqual(snapshot.pages.map((p) => p.target), ['engine-0', 'engine-1', 'router']);
    const incoming = snapshot.pages.find((p) => p.target === 'router')?.samples.find((s) => s.name === 'vllm:num_incoming_requests_total');
    assert.equal(incoming?.value, load.sent);
  });

  await t.test('scaling rewrites the Prometheus config: a stopped engine is no longer scraped', async () => {
    await stack.scale(1);
    const until = Date.now() + 15_000;
    for (;;) {
      const engines = (await prometheus.targets()).filter((target) => target.labels.component === 'engine').map((target) => target.labels.engine);
      if (engines.length === 1 && engines[0] === 'engine-0') break;
      assert.ok(Date.now() < until, `Prometheus still scrapes ${engines.join(', ')} after scaling to 1`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  await t.test('a panel whose query returns nothing fails the check', async () => {
    const [{ file, dashboard }] = await dashboards() as [{ file: string; dashboard: Dashboard }];
    const values = await variableValues(dashboard, prometheus, builtins);
    const good = panelQueries(file, dashboard).find((q) => q.panel === 'Running requests per instance');
    assert.ok(good);
    const broken = { ...good, expr: good.expr.replace('vllm:num_requests_running', 'vllm:num_requests_runing') };
    const findings = await checkPanelQueries([good, broken], prometheus, values, EXPECTED);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.problem, 'returns no data');
    assert.match(formatFindings(findings), /"Running requests per instance" A .* returns no data\n.*vllm:num_requests_runing/);
  });
});
