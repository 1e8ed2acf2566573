// The observability files and their generators, without a running stack:
// the Prometheus configuration, the alert rules (promtool), the dashboards'
// structure, the chart values that ship them, the metrics text reader and
// the panel-query judge.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $, which } from 'zx';
import { parse } from 'yaml';
import { deployedAlertRules, readShippedAlertRules, ruleThresholds, TUNABLE_ALERTS } from '../scripts/lib/observability/alert-rules.js';
import type { AlertThresholds } from '../scripts/lib/vocabulary/node-plan.js';
import { escapeForTpl, observabilityChartValues } from '../scripts/lib/observability/chart-values.js';
import { shippedDashboards } from '../scripts/lib/observability/dashboards.js';
import { KEY_SERIES, snapshotWindow, takeSnapshot } from '../scripts/lib/observability/metrics-snapshot.js';
import { parseMetricsText } from '../scripts/lib/vocabulary/prometheus-text.js';
import { formatMonitor, localServices } from '../scripts/lib/observability/monitor.js';
import { prometheusConfig } from '../scripts/lib/observability/prometheus-config.js';
import { writePrometheusConfig } from '../scripts/lib/observability/prometheus-files.js';
import { nodeLayout } from '../scripts/lib/targets/local/process-commands.js';
import type { NodePlan } from '../scripts/lib/vocabulary/node-plan.js';
import { judge, panelQueries, substitute, type Dashboard, type PanelQuery } from './support/dashboard-queries.js';
import { REPO } from './support/temp-project.js';

const DEFAULTS: AlertThresholds = { errorRatePct: 5, ttftP95Ms: 2000, kvCacheUsagePct: 90, queueDepth: 10 };

function spec(over: Partial<NodePlan> = {}): NodePlan {
  return {
    node: 'vllm-dev', role: 'dev', workDir: '/w/vllm-dev', stateDir: '/w/.deployed', routerHost: '127.0.0.1', routerPort: 8100, enginePortBase: 8101,
    replicas: 2, maxReplicas: 4,
    engine: { kind: 'sim', modelUrl: 'm', servedModelName: 'm', lmcacheEnabled: false, flags: [], env: {}, readyTimeoutMs: 1000, drainTimeoutMs: 1000 },
    router: { impl: 'builtin', routingLogic: 'roundrobin', sessionKey: 'x-user-id', engineStatsInterval: 5, requestStatsWindow: 60, outlierConsecutive5xx: 5, requestTimeout: 600, maxConcurrency: 4096, env: {} },
    prometheus: { port: 9091, scrapeIntervalSeconds: 1, alertThresholds: DEFAULTS },
    ...over,
  };
}

async function promtool(t: { skip(m: string): void }): Promise<boolean> {
  if (await which('promtool', { nothrow: true })) return true;
  t.skip('promtool is not installed (make deps installs prometheus)');
  return false;
}

interface ScrapeConfig { job_name: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }

test('the Prometheus config scrapes every engine and the router with node, role, component and engine labels', () => {
  const config = parse(prometheusConfig(spec(), [1, 0], '/w/vllm-dev/alerts.yml')) as { global: Record<string, string>; rule_files: string[]; scrape_configs: ScrapeConfig[] };
  assert.deepEqual(config.global, { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' });
  assert.deepEqual(config.rule_files, ['/w/vllm-dev/alerts.yml']);
  assert.deepEqual(config.scrape_configs.map((j) => j.job_name), ['vllm-engines', 'vllm-router']);
  assert.deepEqual(config.scrape_configs[0]?.static_configs, [
    { targets: ['127.0.0.1:8101'], labels: { node: 'vllm-dev', role: 'dev', component: 'engine', engine: 'engine-0' } },
    { targets: ['127.0.0.1:8102'], labels: { node: 'vllm-dev', role: 'dev', component: 'engine', engine: 'engine-1' } },
  ]);
  assert.deepEqual(config.scrape_configs[1]?.static_configs, [{ targets: ['127.0.0.1:8100'], labels: { node: 'vllm-dev', role: 'dev', component: 'router' } }]);
  // Scaled to three engines: the third is scraped; without a router, only engines.
  const scaled = parse(prometheusConfig(spec({ router: null }), [0, 1, 3], 'r.yml')) as { scrape_configs: ScrapeConfig[] };
  assert.deepEqual(scaled.scrape_configs.map((j) => j.job_name), ['vllm-engines']);
  assert.deepEqual(scaled.scrape_configs[0]?.static_configs.map((s) => s.labels.engine), ['engine-0', 'engine-1', 'engine-3']);
  // A long interval keeps Prometheus' 10 s timeout ceiling.
  const slow = parse(prometheusConfig(spec({ prometheus: { port: 9090, scrapeIntervalSeconds: 30, alertThresholds: DEFAULTS } }), [0], 'r.yml')) as { global: Record<string, string> };
  assert.deepEqual(slow.global, { scrape_interval: '30s', scrape_timeout: '10s', evaluation_interval: '30s' });
  assert.throws(() => prometheusConfig(spec({ prometheus: null }), [0], 'r.yml'), /CONFIG_VLLM_OBSERVABILITY_ENABLED/);
});

test('the written Prometheus config and its rules pass promtool check config', async (t) => {
  if (!(await promtool(t))) return;
  const dir = await mkdtemp(join(tmpdir(), 'prom-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const s = spec({ workDir: dir, prometheus: { port: 9091, scrapeIntervalSeconds: 1, alertThresholds: { errorRatePct: 12, ttftP95Ms: 750, kvCacheUsagePct: 95, queueDepth: 3 } } });
  const layout = nodeLayout(dir);
  await writePrometheusConfig(s, [0, 1], layout);
  const out = await $({ nothrow: true, quiet: true })`promtool check config ${layout.prometheusConfig}`;
  assert.equal(out.exitCode, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /SUCCESS: 7 rules found/);
  assert.deepEqual(ruleThresholds(await readFile(layout.prometheusRules, 'utf8')), {
    VLLMErrorRateHigh: 0.12, VLLMTimeToFirstTokenHigh: 0.75, VLLMKVCacheSaturated: 0.95, VLLMRequestsQueueing: 3,
  });
});

test('the shipped alert rules pass promtool check rules and their unit tests', async (t) => {
  if (!(await promtool(t))) return;
  const dir = join(REPO, 'observability');
  const check = await $({ nothrow: true, quiet: true, cwd: dir })`promtool check rules alerts.yml`;
  assert.equal(check.exitCode, 0, check.stdout + check.stderr);
  const unit = await $({ nothrow: true, quiet: true, cwd: dir })`promtool test rules alerts.test.yml`;
  assert.equal(unit.exitCode, 0, unit.stdout + unit.stderr);
  // Every alert of the file is exercised by the tests.
  const alerts = (parse(await readShippedAlertRules()) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  const tested = await readFile(join(dir, 'alerts.test.yml'), 'utf8');
  for (const a of alerts) assert.match(tested, new RegExp(`alertname: ${a}\\n`), `${a} has no unit test`);
});

test('the alert unit tests fail when a rule is broken', async (t) => {
  if (!(await promtool(t))) return;
  const dir = await mkdtemp(join(tmpdir(), 'alerts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A threshold of 50 % lets the 10 % error rate of the test pass unnoticed.
  await writeFile(join(dir, 'alerts.yml'), deployedAlertRules(await readShippedAlertRules(), { ...DEFAULTS, errorRatePct: 50 }));
  await writeFile(join(dir, 'alerts.test.yml'), await readFile(join(REPO, 'observability', 'alerts.test.yml'), 'utf8'));
  const unit = await $({ nothrow: true, quiet: true, cwd: dir })`promtool test rules alerts.test.yml`;
  assert.notEqual(unit.exitCode, 0);
  assert.match(unit.stdout + unit.stderr, /alertname: VLLMErrorRateHigh/);
});

test('the shipped rules carry the Kconfig defaults, and a deployment changes only the thresholds', async () => {
  const kconfig = await readFile(join(REPO, 'kconfigs', 'Kconfig.observability'), 'utf8');
  const kdefault = (symbol: string) => Number(new RegExp(`config ${symbol.replace(/^CONFIG_/, '')}\\n(?:.*\\n)*?\\tdefault (\\d+)`).exec(kconfig)?.[1]);
  const fromKconfig: AlertThresholds = {
    errorRatePct: kdefault('CONFIG_VLLM_ALERT_ERROR_RATE_PCT'), ttftP95Ms: kdefault('CONFIG_VLLM_ALERT_TTFT_P95_MS'),
    kvCacheUsagePct: kdefault('CONFIG_VLLM_ALERT_KV_CACHE_USAGE_PCT'), queueDepth: kdefault('CONFIG_VLLM_ALERT_QUEUE_DEPTH'),
  };
  assert.deepEqual(fromKconfig, DEFAULTS);
  const shipped = await readShippedAlertRules();
  assert.deepEqual(parse(deployedAlertRules(shipped, DEFAULTS)), parse(shipped), 'deploying the defaults reproduces observability/alerts.yml');
  const tuned = deployedAlertRules(shipped, { errorRatePct: 7, ttftP95Ms: 1500, kvCacheUsagePct: 80, queueDepth: 25 });
  assert.deepEqual(ruleThresholds(tuned), { VLLMErrorRateHigh: 0.07, VLLMTimeToFirstTokenHigh: 1.5, VLLMKVCacheSaturated: 0.8, VLLMRequestsQueueing: 25 });
  const rules = (parse(tuned) as { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules);
  assert.equal(rules.find((r) => r.alert === 'VLLMErrorRateHigh')?.annotations.threshold, '0.07');
  // Everything but the numbers stays as shipped.
  const strip = (text: string) => text.replace(/\d+(\.\d+)?/g, 'N');
  assert.equal(strip(JSON.stringify(parse(tuned))), strip(JSON.stringify(parse(shipped))));
  // A rule edited so that its threshold cannot be found is refused, naming the option.
  const broken = shipped.replace('vllm:num_requests_waiting > 10', 'vllm:num_requests_waiting > bool 10 == 1');
  assert.throws(() => deployedAlertRules(broken, DEFAULTS), /VLLMRequestsQueueing's expression must end in a comparison with a number for CONFIG_VLLM_ALERT_QUEUE_DEPTH/);
  assert.throws(() => deployedAlertRules(shipped.replace(/VLLMKVCacheSaturated/g, 'Renamed'), DEFAULTS), /no VLLMKVCacheSaturated, whose threshold CONFIG_VLLM_ALERT_KV_CACHE_USAGE_PCT sets/);
  assert.deepEqual(Object.keys(TUNABLE_ALERTS).sort(), Object.keys(ruleThresholds(shipped)).sort());
});

async function dashboards(): Promise<{ file: string; dashboard: Dashboard & Record<string, unknown> }[]> {
  return (await shippedDashboards()).map((d) => ({ file: d.file, dashboard: JSON.parse(d.json) as Dashboard & Record<string, unknown> }));
}

interface GridPanel { id: number; type: string; title: string; description?: string; datasource?: { uid: string }; gridPos: { x: number; y: number; w: number; h: number }; fieldConfig?: { defaults?: { unit?: string } }; targets?: { datasource?: { uid: string } }[] }

test('the dashboards: current schema, datasource, node and model variables, every panel described, laid out without overlap', async () => {
  const all = await dashboards();
  assert.ok(all.some((d) => d.file === 'vllm.json'));
  for (const { file, dashboard } of all) {
    assert.ok((dashboard.schemaVersion as number) >= 39, `${file}: schemaVersion ${String(dashboard.schemaVersion)}`);
    const vars = dashboard.templating?.list ?? [];
    assert.deepEqual(vars.map((v) => [v.name, v.type]), [['datasource', 'datasource'], ['node', 'query'], ['model', 'query']], file);
    const panels = dashboard.panels as unknown as GridPanel[];
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, `${file}: panel ids are unique`);
    const cells = new Map<string, string>();
    for (const p of panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const other = cells.get(`${x},${y}`);
          assert.equal(other, undefined, `${file}: "${p.title}" overlaps "${other}"`);
          cells.set(`${x},${y}`, p.title);
        }
      }
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: "${p.title}" is wider than the grid`);
      if (p.type === 'row') continue;
      assert.ok(p.description && p.description.length > 20, `${file}: "${p.title}" says what it shows`);
      assert.ok(p.fieldConfig?.defaults?.unit, `${file}: "${p.title}" has a unit`);
      for (const target of [p, ...(p.targets ?? [])]) assert.equal(target.datasource?.uid, '${datasource}', `${file}: "${p.title}" uses the datasource variable`);
    }
    for (const q of panelQueries(file, dashboard)) {
      assert.match(q.expr, /node=~"\$node"/, `${file}: "${q.panel}" ${q.refId} follows the node variable`);
      assert.doesNotMatch(q.expr, /\[\d+[smh]\]/, `${file}: "${q.panel}" ${q.refId} uses $__rate_interval or $__range, not a fixed window`);
      if (/model_name|vllm:e2e|vllm:time_to|vllm:num_requests|lmcache:/.test(q.expr)) assert.match(q.expr, /model_name=~"\$model"/, `${file}: "${q.panel}" ${q.refId} follows the model variable`);
    }
  }
});

test('the main dashboard has the seven seed panels and the ones production-stack lacks', async () => {
  const main = (await dashboards()).find((d) => d.file === 'vllm.json');
  assert.ok(main);
  const titles = new Set(panelQueries(main.file, main.dashboard).map((q) => q.panel));
  for (const title of [
    'Available vLLM instances', 'Request latency distribution', 'Time to first token distribution', 'Running requests per instance',
    'Pending requests per instance', 'GPU KV cache usage', 'GPU KV cache hit rate per instance',
    'Router QPS', 'Time to first token', 'End-to-end request latency', 'Error rate by kind', 'Prefix cache hit rate',
    'LMCache offload hit rate', 'Per-engine load skew', 'Targets up',
  ]) assert.ok(titles.has(title), `panel "${title}"`);
  const exprs = panelQueries(main.file, main.dashboard).map((q) => q.expr);
  for (const quantile of ['0.5', '0.95', '0.99']) {
    assert.ok(exprs.some((e) => e.startsWith(`histogram_quantile(${quantile}, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket`)), `TTFT p${quantile}`);
    assert.ok(exprs.some((e) => e.startsWith(`histogram_quantile(${quantile}, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket`)), `E2E p${quantile}`);
  }
});

const q = (over: Partial<PanelQuery>): PanelQuery => ({ dashboard: 'd.json', panel: 'p', unit: 'none', min: undefined, max: undefined, refId: 'A', legend: '', expr: 'x', ...over });

test('the panel judge: no data, NaN, values outside the panel range and zero latencies are findings', () => {
  assert.equal(judge(q({}), []), 'returns no data');
  assert.match(judge(q({}), [{ labels: { engine: 'engine-0' }, value: NaN }]) ?? '', /returns NaN for \{"engine":"engine-0"\}/);
  assert.match(judge(q({ unit: 'percentunit', min: 0, max: 1 }), [{ labels: {}, value: 1.5 }]) ?? '', /above the panel's max 1/);
  assert.match(judge(q({ min: 1 }), [{ labels: {}, value: 0.5 }]) ?? '', /below the panel's min 1/);
  assert.match(judge(q({ unit: 's' }), [{ labels: {}, value: 0 }]) ?? '', /latency of 0 s/);
  assert.equal(judge(q({ unit: 's' }), [{ labels: {}, value: 0.2 }]), null);
  assert.equal(judge(q({}), [{ labels: {}, value: 2 }], (s) => (s[0]?.value === 3 ? null : 'should be 3')), 'should be 3');
  assert.equal(substitute('rate(x{node=~"$node", m="${model}", k="[[model]]"}[$__rate_interval])', { node: 'a', model: 'b', __rate_interval: '1m' }), 'rate(x{node=~"a", m="b", k="b"}[1m])');
  assert.throws(() => substitute('$nope', {}), /no value for the variable \$nope/);
});

test('chart values ship the dashboards to the Grafana sidecar and the rules to the operator, surviving the chart\'s tpl', async () => {
  const dashboardsShipped = await shippedDashboards();
  const rules = await readShippedAlertRules();
  const values = observabilityChartValues({ dashboards: dashboardsShipped, alertRules: rules, node: 'vllm-baseline', role: 'baseline', scrapeIntervalSeconds: 5 }) as {
    extraObjects: { kind: string; metadata: { name: string; labels: Record<string, string> }; data?: Record<string, string>; spec?: { groups: unknown } }[];
    grafanaDashboards: { enabled: boolean };
    'kube-prometheus-stack': unknown;
    servingEngineSpec: { serviceMonitor: { enabled: boolean; interval: string; relabelings: Record<string, unknown>[] } };
    routerSpec: { serviceMonitor: { relabelings: Record<string, unknown>[] } };
  };
  const maps = values.extraObjects.filter((o) => o.kind === 'ConfigMap');
  assert.equal(maps.length, dashboardsShipped.length);
  const map = maps.find((m) => m.data?.['vllm.json']);
  assert.ok(map);
  assert.equal(map.metadata.name, '{{ .Release.Name }}-grafana-vllm');
  assert.equal(map.metadata.labels.grafana_dashboard, '1');
  // What tpl makes of the escaped text: each {{ "{{" }} prints {{.
  const rendered = (text: string) => text.replace(/\{\{ "\{\{" \}\}/g, '{{');
  const original = dashboardsShipped.find((d) => d.file === 'vllm.json')?.json ?? '';
  assert.ok(original.includes('{{node}}'), 'the dashboard has legends that tpl would otherwise read');
  assert.equal(rendered(map.data?.['vllm.json'] ?? ''), original);
  assert.doesNotMatch((map.data?.['vllm.json'] ?? '').replace(/\{\{ "\{\{" \}\}/g, ''), /\{\{/, 'no unescaped action is left');
  const rule = values.extraObjects.find((o) => o.kind === 'PrometheusRule');
  assert.ok(rule);
  const renderedStrings = (v: unknown): unknown => typeof v === 'string' ? rendered(v) : Array.isArray(v) ? v.map(renderedStrings)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderedStrings(x)])) : v;
  assert.ok(JSON.stringify(rule.spec?.groups).includes('{{ \\"{{\\" }} $labels.node }}'), 'rule annotations are escaped');
  assert.deepEqual(renderedStrings(rule.spec?.groups), (parse(rules) as { groups: unknown }).groups);
  assert.equal(values.grafanaDashboards.enabled, false);
  assert.deepEqual(values['kube-prometheus-stack'], { prometheus: { prometheusSpec: { ruleSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'vllm-stack' } } } } });
  assert.deepEqual(rule.metadata.labels, { 'app.kubernetes.io/part-of': 'vllm-stack' });
  assert.equal(values.servingEngineSpec.serviceMonitor.interval, '5s');
  assert.deepEqual(values.servingEngineSpec.serviceMonitor.relabelings.map((r) => r.targetLabel), ['node', 'role', 'component', 'engine']);
  assert.deepEqual(values.routerSpec.serviceMonitor.relabelings.map((r) => r.targetLabel), ['node', 'role', 'component']);
  assert.equal(escapeForTpl('a {{{ b }}'), 'a {{ "{{" }}{ b }}');

});

// shared/ sits beside the clone (CI) or beside the folder of worktrees (development).
async function chartSchema(): Promise<{ properties?: Record<string, unknown> } | null> {
  for (const dir of [join(REPO, '..', 'shared'), join(REPO, '..', '..', 'shared')]) {
    const text = await readFile(join(dir, 'reference', 'vllm-stack-0.1.12-values.schema.json'), 'utf8').catch(() => null);
    if (text) return JSON.parse(text) as { properties?: Record<string, unknown> };
  }
  return null;
}

test('every chart value the observability gives is a value of the chart (Helm ignores unknown keys silently)', async (t) => {
  const schema = await chartSchema();
  if (!schema) return t.skip('shared/reference/vllm-stack-0.1.12-values.schema.json is not beside the project');
  type Node = { properties?: Record<string, unknown> } | undefined;
  const known = (path: string[]) => path.reduce<Node>((node, key) => node?.properties?.[key] as Node, schema);
  const values = observabilityChartValues({ dashboards: await shippedDashboards(), alertRules: await readShippedAlertRules(), node: 'vllm-baseline', role: 'baseline', scrapeIntervalSeconds: 5 });
  const leaves = (v: unknown, path: string[]): string[][] =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && known(path)?.properties ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k])) : [path];
  for (const path of leaves(values, [])) assert.ok(known(path), `${path.join('.')} is a value of the chart`);
});

test('metrics pages are read with labels, escapes, NaN and +Inf', () => {
  const samples = parseMetricsText([
    '# HELP vllm:num_requests_running Number of requests.',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{model_name="facebook/opt-125m"} 3',
    'vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 12',
    'odd{path="a\\"b}\\\\c",x="1"} NaN 1700000000000',
    'plain 2.5e-3',
  ].join('\n'));
  assert.deepEqual(samples.map((s) => [s.name, s.labels, s.value]), [
    ['vllm:num_requests_running', { model_name: 'facebook/opt-125m' }, 3],
    ['vllm:time_to_first_token_seconds_bucket', { le: '+Inf', model_name: 'm' }, 12],
    ['odd', { path: 'a"b}\\c', x: '1' }, NaN],
    ['plain', {}, 0.0025],
  ]);
  assert.throws(() => parseMetricsText('x{a=1} 2'), /unreadable labels/);
  assert.throws(() => parseMetricsText('x{a="1"}'), /unreadable metrics line/);
});

test('the snapshot window keeps at most 300 points and a rate window of four scrapes or more', () => {
  assert.deepEqual(snapshotWindow(1_000_000, 1_060_000, 5), { start: 1000, end: 1060, stepSeconds: 5, rateWindow: '20s' });
  // The end is always evaluated: 8 s at a 5 s step are 1003 and 1008.
  assert.deepEqual(snapshotWindow(1_000_000, 1_008_000, 5), { start: 1003, end: 1008, stepSeconds: 5, rateWindow: '20s' });
  const long = snapshotWindow(0, 3 * 3600 * 1000, 5);
  assert.ok((long.end - long.start) / long.stepSeconds <= 300);
  assert.equal(long.stepSeconds, 36);
  assert.equal(long.end, 3 * 3600);
  assert.equal(long.rateWindow, '41s');
  assert.ok(KEY_SERIES.every((k) => !/\$/.test(k.expr('1m'))), 'snapshot queries have no dashboard variables');
});

test('without Prometheus the snapshot reads the /metrics pages, and says what it could not read', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.end('vllm:num_requests_running{model_name="m"} 1\nprocess_cpu_seconds_total 3\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const snapshot = await takeSnapshot({
    node: 'vllm-baseline', prometheusUrl: 'http://127.0.0.1:1', scrapeIntervalSeconds: 5, sinceMs: Date.now() - 60_000,
    pages: [{ target: 'engine-0', url: `http://127.0.0.1:${port}/metrics` }, { target: 'engine-1', url: 'http://127.0.0.1:1/metrics' }],
  });
  assert.equal(snapshot.source, 'metrics-pages');
  assert.deepEqual(snapshot.pages[0]?.samples, [{ name: 'vllm:num_requests_running', labels: { model_name: 'm' }, value: 1 }]);
  assert.match(snapshot.problems.join('\n'), /Prometheus gave no series, so only the \/metrics pages were read/);
  assert.match(snapshot.problems.join('\n'), /engine-1: .* unreadable/);
  await assert.rejects(takeSnapshot({ node: 'vllm-baseline', prometheusUrl: null, scrapeIntervalSeconds: 5, sinceMs: 0, pages: [{ target: 'engine-0', url: 'http://127.0.0.1:1/metrics' }] }), /no metrics could be read on vllm-baseline/);
});

test('vllm-monitor lists each node\'s Prometheus where the controller reaches it', () => {
  const services = localServices([
    { host: null, spec: spec({ node: 'vllm-baseline', prometheus: { port: 9090, scrapeIntervalSeconds: 5, alertThresholds: DEFAULTS } }) },
    { host: 'gpu-box', spec: spec() },
    { host: null, spec: spec({ node: 'off', prometheus: null }) },
  ]);
  assert.deepEqual(services.map((s) => [s.node, s.url]), [['vllm-baseline', 'http://127.0.0.1:9090'], ['vllm-dev', 'http://gpu-box:9091']]);
  const text = formatMonitor([
    { node: 'vllm-baseline', service: 'prometheus', url: 'http://127.0.0.1:9090', ok: true, detail: 'ready: 3/3 targets up, no alert firing' },
    { node: 'vllm-dev', service: 'prometheus', url: 'http://gpu-box:9091', ok: false, detail: 'does not answer' },
  ], ['observability/dashboards/vllm.json']);
  assert.match(text, /✅ vllm-baseline  prometheus  http:\/\/127\.0\.0\.1:9090  ready: 3\/3 targets up/);
  assert.match(text, /❌ vllm-dev       prometheus  http:\/\/gpu-box:9091  does not answer/);
  assert.match(text, /Grafana: import observability\/dashboards\/vllm\.json/);
});
