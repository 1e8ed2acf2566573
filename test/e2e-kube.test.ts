// The Kubernetes journey end to end, as a user with a cluster runs it, on the
// cluster double: make -> Ansible -> vllm-node -> the real helm installs the
// real production-stack chart -> pods running this project's image as
// processes (and the double's stand-in of the chart's LoRA controller) -> smoke,
// suites (lora; faults kill a pod and scaling scales the engine Deployment
// through the double; pd on a disaggregating A/B dev), results, status,
// monitor, teardown. Nothing
// is faked between make and the double's HTTP API. One double and one project
// for the whole journey (CI time).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { $, type ProcessOutput } from 'zx';
import { ClusterDouble, MINIKUBE_NODE, prometheusOperatorCrds, type NodeSize } from './support/cluster-double.js';
import { e2eToolsMissing } from './support/configure.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject, type TempProject } from './support/temp-project.js';

const TOOLS = join(REPO, '.tools', 'bin');
/**
 * This project's images as a user of an existing cluster has them: pushed to a registry the cluster pulls from
 * (the defaults are published nowhere, and bring-up refuses them). The double runs them by name.
 */
// The existing-cluster defconfig benchmarks for 60 s; 15 s gives the comparison a few hundred requests a side.
const SHORT_BENCHMARK = { VLLM_BENCHMARK_DURATION: 15 };
const PUSHED = { VLLM_ROUTER_IMAGE: 'registry.example:5000/vllm-stack-harness/router', VLLM_ENGINE_IMAGE_REPO: 'registry.example:5000/vllm-stack-harness/engine-sim' };

interface Journey {
  p: TempProject;
  cluster: ClusterDouble;
  make(...args: string[]): Promise<ProcessOutput>;
  /** make with Ansible's own output, whose recap counts the tasks that changed something. */
  makeWithRecap(...args: string[]): Promise<ProcessOutput>;
  /** The kubectl and helm versions on PATH, as CONFIG_ symbols: pinned to what the user has, so bring-up installs none. */
  pinned: { VLLM_KUBECTL_VERSION: string; VLLM_HELM_VERSION: string };
}

/**
 * One journey's project and cluster double (one node of `node`'s size), as a user with a cluster has them: kubectl and helm on PATH,
 * the chart offline, prometheus-operator's CRDs (observability renders ServiceMonitors), the router's 30 s
 * readiness delay a tenth here; null (the test skipped) when the tools or the chart are missing.
 */
async function startJourney(t: TestContext, node: NodeSize = MINIKUBE_NODE): Promise<Journey | null> {
  const chartDir = referenceChartDir();
  const why = (await e2eToolsMissing()) ?? (chartDir && existsSync(join(TOOLS, 'helm')) ? null : 'the reference chart or .tools/bin/helm is missing (make deps)');
  if (why || !chartDir) {
    t.skip(why ?? '');
    return null;
  }
  const p = await tempProject();
  const cluster = await ClusterDouble.start({ probeTimeScale: 0.1, node });
  for (const crd of prometheusOperatorCrds()) cluster.api.put(crd);
  const kubeconfig = await cluster.writeKubeconfig(join(p.dir, 'cluster-double.kubeconfig'));
  const env = { ...process.env, CI: 'true', PATH: `${TOOLS}:${process.env.PATH ?? ''}`, VLLM_KUBECONFIG: kubeconfig, VLLM_PROD_STACK_CHART_PATH: chartDir };
  const make = (...args: string[]) => $({ cwd: p.dir, nothrow: true, quiet: true, env })`make ${args}`;
  const makeWithRecap = (...args: string[]) => $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...env, ANSIBLE_STDOUT_CALLBACK: 'default' } })`make ${args}`;
  t.after(async () => {
    await make('vllm-cleanup');
    await cluster.close();
    await p.remove();
  });
  const versions = JSON.parse((await $({ env, quiet: true })`${join(TOOLS, 'kubectl')} version --client -o json`).stdout) as { clientVersion: { gitVersion: string } };
  const helmVersion = (await $({ env, quiet: true })`${join(TOOLS, 'helm')} version --template {{.Version}}`).stdout.trim();
  return { p, cluster, make, makeWithRecap, pinned: { VLLM_KUBECTL_VERSION: versions.clientVersion.gitVersion, VLLM_HELM_VERSION: helmVersion } };
}

test('make vllm on an existing cluster (the cluster double) with +sim: bring-up checks, real helm deploy, smoke, suites with a pod killed and the engines scaled through the double, results, status, monitor, teardown', { timeout: 600_000 }, async (t) => {
  const journey = await startJourney(t);
  if (!journey) return;
  const { p, cluster, make, makeWithRecap, pinned } = journey;

  // +node-port: the harness reaches the router at the double's node port, as a client outside the cluster
  // (the +ab-pd journey below goes through port-forwards).
  // +lora: the chart's LoRA controller (the double's stand-in of its image) loads the adapters on the engine pods.
  const defconfig = await make('defconfig-vllm-existing-cluster+sim+node-port+lora');
  assert.equal(defconfig.exitCode, 0, `+sim is allowed on an existing cluster: ${defconfig.stdout}${defconfig.stderr}`);
  await p.setConfig({
    // The adapter workload's benchmark is the local journeys' (CI time): here the lora suite proves the adapters on Kubernetes.
    ...pinned, ...PUSHED, ...SHORT_BENCHMARK, VLLM_REPLICA_COUNT: 2, VLLM_BENCHMARK_ENABLED: true, VLLM_BENCHMARK_LORA: false,
    // Limits the faults suite can exercise within its bounds (a hung engine's 504, 429 past the limit), as vllm-local's.
    VLLM_ROUTER_REQUEST_TIMEOUT: 10, VLLM_ROUTER_MAX_CONCURRENCY: 256,
  });
  const config = await make('extra_vars.yaml');
  assert.equal(config.exitCode, 0, config.stdout + config.stderr);

  const started = performance.now();
  const run = await make('vllm');
  const vllmSeconds = (performance.now() - started) / 1000;
  t.diagnostic(`make vllm on the cluster double: ${vllmSeconds.toFixed(1)} s`);
  t.diagnostic(run.stdout.split('\n').filter((l) => /LoRA controller|: (api|lora|routing)(, \w+)*: \d+ cases/.test(l)).map((l) => l.trim()).join('; '));
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /cluster http:\/\/127\.0\.0\.1:\d+ \(context test\) answers/, 'bring-up checked the cluster');
  assert.match(run.stdout, /helm upgrade --install vllm-baseline .* --wait/);
  assert.equal((cluster.api.get('Service', 'vllm-system', 'vllm-baseline-router-service')?.spec as { type?: string } | undefined)?.type, 'NodePort', 'the router Service is a NodePort (+node-port)');
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const record = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8')) as { verdict: string; nodes: Record<string, { steps: Record<string, string> }> };
  assert.equal(record.verdict, 'pass');
  assert.deepEqual(Object.keys(record.nodes['vllm-baseline']?.steps ?? {}).sort(), ['deploy', 'metrics', 'smoke', 'test', 'benchmark'].sort());
  const nodeDir = join(p.dir, 'results', runId, 'vllm-baseline');
  assert.deepEqual((await readdir(join(nodeDir, 'suites'))).sort(), ['api.json', 'lora.json', 'routing.json']);
  // LoRA on Kubernetes: the release's LoraAdapters were loaded by the controller, each on as many engine pods as
  // configured, as their status says; the lora suite then passed through the router, from the engines' counters.
  assert.ok(cluster.api.list('Event', 'vllm-system').some((e) => e.reason === 'Started' && (e.involvedObject as { name: string }).name.startsWith('vllm-baseline-lora-controller-')), 'the LoRA controller pod ran');
  const adapters = cluster.api.list('LoraAdapter', 'vllm-system').map((a) => `${(a.spec as { adapterSource: { adapterName: string } }).adapterSource.adapterName}: ${((a.status as { loadedAdapters?: unknown[] } | undefined)?.loadedAdapters ?? []).length}`);
  assert.deepEqual(adapters.sort(), ['chat: 2', 'code: 2', 'math: 2', 'sql: 1', 'summary: 2']);
  const lora = JSON.parse(await readFile(join(nodeDir, 'suites', 'lora.json'), 'utf8')) as { cases: { name: string; status: string; reason?: string }[] };
  assert.deepEqual(lora.cases.filter((c) => c.status !== 'passed').map((c) => `${c.name}: ${c.status} ${c.reason ?? ''}`), []);
  const routing = JSON.parse(await readFile(join(nodeDir, 'suites', 'routing.json'), 'utf8')) as { cases: { status: string }[] };
  assert.ok(routing.cases.some((c) => c.status === 'passed'), 'routing ran over the two engine pods');

  // The faults and scaling suites on Kubernetes: a pod killed and the engine Deployment scaled, through the double's API.
  const ns = 'vllm-system';
  const suites = await make('vllm-test', 'SUITES=faults,scaling');
  assert.ok(cluster.api.requests.some((r) => r.method === 'DELETE' && r.path.startsWith(`/api/v1/namespaces/${ns}/pods/vllm-baseline-opt-125m-deployment-vllm-`)), 'an engine pod deleted through the API');
  assert.ok(cluster.api.requests.some((r) => /^(PUT|PATCH)$/.test(r.method) && r.path === `/apis/apps/v1/namespaces/${ns}/deployments/vllm-baseline-opt-125m-deployment-vllm/scale`), 'the engine Deployment scaled through its scale subresource');
  assert.ok(cluster.api.list('Event', ns).filter((e) => e.reason === 'Started').length >= 4, 'replacement and scaled-up pods started as processes');
  // Every case passes, capacity at 2 engines included (the load reaches the router at its node port).
  const testRun = await readlink(join(p.dir, 'results', 'latest'));
  const caseResults = async (suite: string) => (JSON.parse(await readFile(join(p.dir, 'results', testRun, 'vllm-baseline', 'suites', `${suite}.json`), 'utf8')) as { cases: { name: string; status: string; reason?: string; measured?: Record<string, unknown> }[] }).cases;
  const scaling = await caseResults('scaling');
  t.diagnostic(`scaling through the node port: ${scaling.filter((c) => /^requests\/s at/.test(c.name)).map((c) => `${c.name}: ${JSON.stringify(c.measured ?? {})}`).join('; ')}`);
  const faults = await caseResults('faults');
  t.diagnostic(`faults through the node port: ${faults.map((c) => `${c.name}: ${JSON.stringify(c.measured ?? {})}`).join('; ')}`);
  // None skipped either: the router restarts (a rollout), an engine hangs past the 10 s timeout, the burst passes the limit.
  const notPassed = [...faults, ...scaling].filter((c) => c.status !== 'passed');
  assert.deepEqual(notPassed.map((c) => `${c.name}: ${c.status} ${c.reason ?? ''}`), [], suites.stdout + suites.stderr);
  assert.equal(suites.exitCode, 0, suites.stdout + suites.stderr);

  const status = await make('vllm-status-simplified');
  assert.equal(status.exitCode, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /vllm-baseline: ready \(release vllm-baseline in vllm-system, helm: deployed\)/);
  assert.match(status.stdout, /2\/2 ready {2}vllm-baseline-opt-125m-deployment-vllm {2}registry\.example:5000\/vllm-stack-harness\/engine-sim:0\.1\.0/);
  assert.doesNotMatch(status.stdout, /pods:/, 'the simplified status lists no pods');
  // The full status: every pod, and each engine's own load read from its /metrics through a port-forward.
  const full = await make('vllm-status');
  assert.equal(full.exitCode, 0, full.stdout + full.stderr);
  const engineLines = full.stdout.split('\n').filter((l) => /^\s+engine\s+vllm-baseline-opt-125m-deployment-vllm-\S+ {2}Running, ready {2}restarts \d+ {2}127\.\d+\.\d+\.\d+ {2}running \d+ waiting \d+ kv \d+\.\d%$/.test(l));
  assert.equal(engineLines.length, 2, full.stdout);
  assert.match(full.stdout, /^\s+router\s+vllm-baseline-deployment-router-\S+ {2}Running, ready {2}restarts \d+ {2}127\./m);

  // Monitoring: the offline chart carries no kube-prometheus-stack sub-chart, so the double has no Prometheus or
  // Grafana pods; vllm-monitor says so, naming what to port-forward, and fails as it must.
  const monitor = await make('vllm-monitor');
  assert.notEqual(monitor.exitCode, 0);
  assert.match(monitor.stdout + monitor.stderr, /vllm-baseline {2}prometheus .* does not answer/);
  assert.match(monitor.stdout + monitor.stderr, /port-forward svc\/vllm-baseline-grafana 3000:80/);

  await t.test('make vllm-benchmark && make vllm-compare on Kubernetes', async () => {
    const bench = await make('vllm-benchmark');
    assert.equal(bench.exitCode, 0, bench.stdout + bench.stderr);
    const benchRun = await readlink(join(p.dir, 'results', 'latest'));
    const files = await readdir(join(p.dir, 'results', benchRun, 'vllm-baseline', 'bench'));
    assert.ok(files.some((f) => f.endsWith('.json')), files.join(' '));
    assertVerdict(await make('vllm-compare'));
  });

  // Teardown: the release, its pods (processes) and the harness's Secrets go; the namespace stays (helm made it) with
  // the freed release Lease. On Kubernetes the configured releases are what teardown reaches (no .deployed/ record).
  // Ansible's recap says what changed, as the node tool reported it: the first teardown uninstalled, a second found nothing.
  await t.test('make vllm-teardown uninstalls the release; run again, it reports no change', async () => {
    const changed = (out: ProcessOutput) => /^vllm-baseline\s+:\s+ok=\d+\s+changed=(\d+)/m.exec(out.stdout)?.[1];
    const seen = cluster.api.requests.length;
    const teardown = await makeWithRecap('vllm-teardown');
    assert.equal(teardown.exitCode, 0, teardown.stdout + teardown.stderr);
    // Who removed the LoraAdapters' finalizer: the stand-in controller (PUT) or, with it gone first, teardown (PATCH).
    const released = cluster.api.requests.slice(seen).filter((r) => /\/loraadapters\/[^/]+$/.test(r.path) && (r.method === 'PUT' || r.method === 'PATCH'));
    t.diagnostic(`LoraAdapter finalizers removed at teardown by: ${released.map((r) => `${r.method === 'PUT' ? 'controller' : 'teardown'} ${r.path.split('/').pop()}`).join(', ') || 'none'}`);
    assert.equal(changed(teardown), '1', teardown.stdout);
    assert.deepEqual(cluster.api.list('Deployment', ns).map((d) => d.metadata.name), []);
    const again = await makeWithRecap('vllm-teardown');
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.equal(changed(again), '0', `nothing installed, nothing changed:\n${again.stdout}`);
  });
  const cleanup = await make('vllm-cleanup');
  assert.equal(cleanup.exitCode, 0, cleanup.stdout + cleanup.stderr);
  const left = () => cluster.api.everything(ns).filter((o) => o.kind !== 'Event');
  for (const end = Date.now() + 30_000; left().some((o) => o.kind !== 'Lease') && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(left().map((o) => `${o.kind}/${o.metadata.name}`), ['Lease/vllm-baseline-harness-lock'], 'nothing of the release left in the double');
  assert.equal((left()[0]?.spec as { holderIdentity?: string } | undefined)?.holderIdentity, undefined, 'the lease freed');
  assert.equal(cluster.pods.processes(), 0, 'every pod process stopped');
});

/** Requests each engine pod of a release has answered, from the engine's own /metrics (vllm:request_success_total). */
async function engineCounts(cluster: ClusterDouble, release: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const pod of cluster.api.list('Pod', 'vllm-system').filter((x) => x.metadata.labels?.environment === 'engine' && x.metadata.labels.release === release && cluster.api.isReady(x))) {
    const text = await (await fetch(`http://${(pod.status as { podIP: string }).podIP}:8000/metrics`)).text();
    const total = text.split('\n').filter((l) => l.startsWith('vllm:request_success_total')).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    counts.set(pod.metadata.name, total);
  }
  return counts;
}

/**
 * make vllm-compare gave a verdict, and exits as it says (the tool 1 on a regression, so make 2). Which verdict is the machine's: two runs of one
 * stack minutes apart, beside other tests on 2 cores, can differ beyond the noise; the verdicts' correctness is the
 * statistics tests' (A/A and a 20 % slower dev, 20 repetitions each).
 */
function assertVerdict(compare: { exitCode: number | null; stdout: string; stderr: string }): void {
  const verdict = /^verdict: (no-change|improvement|regression)\b/m.exec(compare.stdout)?.[1];
  assert.ok(verdict, compare.stdout + compare.stderr);
  // On a regression the compare tool exits 1, and make, whose recipe failed, 2.
  if (verdict === 'regression') {
    assert.equal(compare.exitCode, 2, compare.stdout + compare.stderr);
    assert.match(compare.stderr, /vllm-compare\] Error 1/);
  } else {
    assert.equal(compare.exitCode, 0, compare.stdout + compare.stderr);
  }
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Until no engine of the cluster runs or queues a request: a benchmark's last requests, abandoned by its clients, may still be finishing. */
async function enginesIdle(cluster: ClusterDouble): Promise<void> {
  const busy = async () => {
    let n = 0;
    for (const pod of cluster.api.list('Pod', 'vllm-system').filter((x) => x.metadata.labels?.environment === 'engine' && cluster.api.isReady(x))) {
      const text = await (await fetch(`http://${(pod.status as { podIP: string }).podIP}:8000/metrics`)).text();
      n += text.split('\n').filter((l) => /^vllm:num_requests_(running|waiting)\b/.test(l)).reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
    }
    return n;
  };
  for (const end = Date.now() + 60_000; (await busy()) > 0;) {
    assert.ok(Date.now() < end, 'the engines go idle once the benchmark is over');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('make vllm with +ab-pd on the cluster double: two releases, each router routing only to its own engines (from the engines\' counters), dev disaggregating prefill with its pd suite passed', { timeout: 600_000 }, async (t) => {
  // Two releases of 2 engines (1 CPU each) and a router (400m): more than minikube's 4 CPUs, so a cluster of 6.
  const journey = await startJourney(t, { ...MINIKUBE_NODE, cpus: 6 });
  if (!journey) return;
  const { p, cluster, make, pinned } = journey;
  // Baseline: 2 engines colocated; dev: 1 prefill + 1 decode engine (production-stack's values-10-disagg-prefill.yaml shape).
  assert.equal((await make('defconfig-vllm-existing-cluster+sim+ab-pd')).exitCode, 0);
  // The suites are the first journey's; here the two releases, their routing, and dev's disaggregation. The
  // comparison runs on the P/D mix alone, the workload +ab-pd is for (CI time).
  await p.setConfig({ ...pinned, ...PUSHED, ...SHORT_BENCHMARK, VLLM_BENCHMARK_ENABLED: true, VLLM_BENCHMARK_MULTI_ROUND_QA: false, VLLM_TEST_ROUTING: false });
  const config = await make('extra_vars.yaml');
  assert.equal(config.exitCode, 0, config.stdout + config.stderr);

  const started = performance.now();
  const run = await make('vllm');
  t.diagnostic(`make vllm (+ab-pd) on the cluster double: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /helm upgrade --install vllm-baseline /);
  assert.match(run.stdout, /helm upgrade --install vllm-dev /);
  const ns = 'vllm-system';
  assert.deepEqual(cluster.api.list('Deployment', ns).map((d) => d.metadata.name).filter((n) => n.startsWith('vllm-dev-opt-125m')),
    ['vllm-dev-opt-125m-decode-deployment-vllm', 'vllm-dev-opt-125m-prefill-deployment-vllm'], 'dev\'s engines: a prefill and a decode Deployment');

  // Dev's pd suite passed on Kubernetes, every case measured from the engines' own counters (read through port-forwards
  // to the pods): the split case names dev's prefill and decode pods, the kill case a decode pod the Deployment replaced.
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const pd = JSON.parse(await readFile(join(p.dir, 'results', runId, 'vllm-dev', 'suites', 'pd.json'), 'utf8')) as { status: string; cases: { name: string; status: string; reason?: string; measured?: Record<string, unknown> }[] };
  assert.deepEqual(pd.cases.map((c) => `${c.name}: ${c.status} ${c.reason ?? ''}`.trim()), [
    'every request prefilled on a prefill engine and decoded on a decode engine: passed',
    'time to first token includes a measured KV transfer: passed',
    'decode engine killed under load: passed',
  ]);
  const split = pd.cases[0]?.measured as { prefill_engines: Record<string, { requests: number }>; decode_engines: Record<string, { requests: number; decodes_with_kv: number }> };
  assert.match(Object.keys(split.prefill_engines).join(' '), /^vllm-dev-opt-125m-prefill-deployment-vllm-\S+$/);
  assert.match(Object.keys(split.decode_engines).join(' '), /^vllm-dev-opt-125m-decode-deployment-vllm-\S+$/);
  assert.deepEqual(Object.values(split.decode_engines).map((e) => e.decodes_with_kv), [16], 'the decode pod found every prompt\'s KV pushed from the prefill pod');
  assert.match(String(pd.cases[2]?.measured?.replacement), /^vllm-dev-opt-125m-decode-deployment-vllm-/, 'the killed decode pod\'s replacement served');
  const baselineSuites = await readdir(join(p.dir, 'results', runId, 'vllm-baseline', 'suites'));
  const baselinePd = JSON.parse(await readFile(join(p.dir, 'results', runId, 'vllm-baseline', 'suites', 'pd.json'), 'utf8')) as { cases: { status: string }[] };
  assert.deepEqual(baselinePd.cases.map((c) => c.status), ['skipped'], `baseline does not disaggregate (${baselineSuites.join(' ')})`);

  // Each router, reached at its pod's address, sends every request to its own release's engines: the counters say so.
  await enginesIdle(cluster);
  const routers = Object.fromEntries(['vllm-baseline', 'vllm-dev'].map((release) => {
    const pod = cluster.api.list('Pod', 'vllm-system').find((x) => x.metadata.name.startsWith(`${release}-deployment-router-`) && cluster.api.isReady(x));
    assert.ok(pod, `the router of ${release}`);
    return [release, `http://${(pod.status as { podIP: string }).podIP}:8000`];
  }));
  // A disaggregated request is served twice, once by a prefill pod and once by a decode pod: each counts it.
  for (const [release, other, legs] of [['vllm-baseline', 'vllm-dev', 1], ['vllm-dev', 'vllm-baseline', 2]] as const) {
    const mine = await engineCounts(cluster, release);
    const theirs = await engineCounts(cluster, other);
    assert.ok(mine.size > 0 && theirs.size > 0, 'engine pods of both releases');
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${routers[release]}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'facebook/opt-125m', prompt: `to ${release} ${i}`, max_tokens: 2 }) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    assert.equal(sum(await engineCounts(cluster, release)) - sum(mine), 10 * legs, `${release}'s engines answered its router's 10 requests${legs > 1 ? ', each on a prefill and a decode pod' : ''}`);
    assert.equal(sum(await engineCounts(cluster, other)) - sum(theirs), 0, `${other}'s engines saw none of ${release}'s`);
  }

  await t.test('make vllm-compare gives a verdict and the report renders', async () => {
    assertVerdict(await make('vllm-compare'));
    const runId = await readlink(join(p.dir, 'results', 'latest'));
    assert.ok(existsSync(join(p.dir, 'results', runId, 'report.html')), 'the report');
  });
  const cleanup = await make('vllm-cleanup');
  assert.equal(cleanup.exitCode, 0, cleanup.stdout + cleanup.stderr);
  for (const end = Date.now() + 30_000; cluster.pods.processes() > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
  assert.equal(cluster.pods.processes(), 0, 'every pod process stopped');
});

test('make vllm on the cluster double: an engine larger than the node is refused at bring-up naming the setting, and engine pods that never turn ready (an image the cluster cannot pull) fail it, printing and saving the pods\' events and logs in results/<run>/<node>/logs/kube-failure.txt', { timeout: 300_000 }, async (t) => {
  const journey = await startJourney(t);
  if (!journey) return;
  const { p, cluster, make, pinned } = journey;
  assert.equal((await make('defconfig-vllm-existing-cluster+sim')).exitCode, 0);
  const versionsPinned = { ...pinned, VLLM_BENCHMARK_ENABLED: false };
  // An engine bigger than the node, and this project's images under their default names, published nowhere:
  // bring-up refuses both, naming the settings, before anything is installed.
  await p.setConfig({ ...versionsPinned, VLLM_REQUEST_CPU: 8 });
  assert.equal((await make('extra_vars.yaml')).exitCode, 0);
  const refused = await make('vllm');
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stdout + refused.stderr, /cannot be scheduled: 8 CPU requested, at most 4 CPU free on a node[^\n]*CONFIG_VLLM_REQUEST_CPU/);
  assert.match(refused.stdout + refused.stderr, /ghcr\.io\/vllm-stack-harness\/router:0\.1\.0 \(vllm-baseline router\) is published nowhere and no node holds it[^\n]*set CONFIG_VLLM_ROUTER_IMAGE/);
  assert.match(refused.stdout + refused.stderr, /ghcr\.io\/vllm-stack-harness\/engine-sim:0\.1\.0 \(vllm-baseline engines\) is published nowhere[^\n]*set CONFIG_VLLM_ENGINE_IMAGE_REPO/);
  assert.deepEqual(cluster.api.list('Deployment', 'vllm-system').map((d) => d.metadata.name), [], 'nothing installed');

  // An engine image the cluster cannot pull: the pods never turn ready, and make vllm ends with their story.
  await p.setConfig({ ...versionsPinned, ...PUSHED, VLLM_REQUEST_CPU: 1, VLLM_ENGINE_IMAGE_REPO: 'registry.invalid/no-such-engine', VLLM_DEPLOY_TIMEOUT: 15 });
  const config = await make('extra_vars.yaml');
  assert.equal(config.exitCode, 0, config.stdout + config.stderr);
  const run = await make('vllm');
  assert.notEqual(run.exitCode, 0);
  const out = run.stdout + run.stderr;
  assert.match(out, /--- pod vllm-baseline-opt-125m-deployment-vllm-\S+ \(Pending, not ready\)/);
  assert.match(out, /event Warning Failed: Failed to pull image "registry.invalid\/no-such-engine:0.1.0"/);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const saved = await readFile(join(p.dir, 'results', runId, 'vllm-baseline', 'logs', 'kube-failure.txt'), 'utf8');
  assert.match(saved, /event Warning Failed: Failed to pull image "registry.invalid\/no-such-engine:0.1.0"/);
  // The pod never started a container: the API answers its log with 400 (client-node's error keeps only the code).
  assert.match(saved, /last 40 log lines:\n {4}\(no log: HTTP-Code: 400\)/);
});
