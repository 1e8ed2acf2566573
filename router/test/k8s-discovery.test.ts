// Kubernetes discovery against the Kubernetes API test server (the real
// list/watch protocol) with engines on distinct loopback addresses: pods
// followed through their lifecycle, the watch's hard cases (410 Gone,
// bookmarks, dropped connections, an API server that refuses, vanishes or
// hangs), and /health's bound on how long discovery may fail.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { K8sDiscovery } from '../src/discovery/k8s-discovery.js';
import type { BackendSpec } from '../src/discovery/index.js';
import { parseK8sOptions } from '../src/discovery/k8s-options.js';
import { KubeApiServer, type KubeObject } from '../../test/support/kube-api-server.js';
import { sharedFreePort, until } from '../../test/support/loopback.js';

const NS = 'vllm';
const ENGINE = { environment: 'test', release: 'test' };
const SELECTOR = 'environment=test,release=test';
const FAST = { requestTimeoutMs: 5000, watchGraceMs: 1000, retryMinMs: 50, retryMaxMs: 200, modelsRetryMinMs: 50, modelsRetryMaxMs: 200 };

interface FakeEngines {
  port: number;
  /** Authorization headers seen on GET /v1/models, by host. */
  auth: Map<string, string[]>;
}

/** Minimal engines: GET /v1/models on each host, one shared port. */
async function fakeEngines(t: TestContext, hosts: string[]): Promise<FakeEngines> {
  const port = await sharedFreePort(hosts);
  const auth = new Map<string, string[]>();
  for (const host of hosts) {
    const server = createServer((req: IncomingMessage, res) => {
      auth.set(host, [...(auth.get(host) ?? []), req.headers.authorization ?? '']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'facebook/opt-125m', object: 'model' }] }));
    });
    await new Promise<void>((r) => server.listen(port, host, r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
  }
  return { port, auth };
}

function start(t: TestContext, server: { kubeconfig(ns: string): string }, port: number, flags: Record<string, string> = {}, timing: Partial<typeof FAST> & { now?: () => number } = {}) {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  const logs: string[] = [];
  const sets: BackendSpec[][] = [];
  const d = new K8sDiscovery(parseK8sOptions({ 'k8s-namespace': NS, 'k8s-label-selector': SELECTOR, 'k8s-port': String(port), ...flags }), {
    log: (level, message) => logs.push(`${level} ${message}`),
    engineAuth: { authorization: 'Bearer engine-key' },
    kubeConfig: kc,
    timing: { ...FAST, ...timing },
  });
  d.start((engines) => sets.push(engines));
  t.after(() => d.stop());
  const names = () => (sets.at(-1) ?? []).map((e) => e.pod?.name).join(',');
  return { d, logs, sets, names };
}

const count = (logs: string[], re: RegExp) => logs.filter((l) => re.test(l)).length;

test('pods followed by namespace and labels: ready with models → in, unready or terminating → out at once, deleted → gone', async (t) => {
  const engines = await fakeEngines(t, ['127.0.0.2', '127.0.0.3']);
  const api = await KubeApiServer.start();
  t.after(() => api.close());
  api.addPod(NS, 'engine-a', ENGINE, '127.0.0.2', false);
  api.addPod(NS, 'router', { environment: 'router', release: 'test' }, '127.0.0.9');
  api.addPod('elsewhere', 'engine-x', ENGINE, '127.0.0.4');
  const { d, logs, sets, names } = start(t, api, engines.port);
  await until('the first list', () => logs.some((l) => l.includes('watching pods')));
  assert.equal(sets.length, 0, 'an unready pod is not an engine');
  api.setPodReady(NS, 'engine-a', true);
  await until('engine-a in rotation', () => names() === 'engine-a');
  const a = (sets.at(-1) ?? [])[0];
  assert.equal(a?.url, `http://127.0.0.2:${engines.port}`);
  assert.deepEqual(a?.models, ['facebook/opt-125m']);
  assert.deepEqual(a?.pod?.name, 'engine-a');
  assert.equal(a?.pod?.namespace, NS);
  assert.ok(Date.parse(a?.pod?.readySince ?? '') > 0, 'ready since the pod\'s Ready condition');
  assert.deepEqual(engines.auth.get('127.0.0.2'), ['Bearer engine-key'], 'models asked once, with the engines\' API key');
  api.addPod(NS, 'engine-b', ENGINE, '127.0.0.3');
  await until('engine-b too', () => names() === 'engine-a,engine-b');
  api.setPodReady(NS, 'engine-b', false);
  await until('engine-b out', () => names() === 'engine-a');
  api.setPodReady(NS, 'engine-b', true);
  await until('engine-b back', () => names() === 'engine-a,engine-b');
  // Graceful deletion: the pod is terminating (deletionTimestamp) before it is gone.
  let release = () => undefined as void;
  const stopped = new Promise<void>((r) => { release = r; });
  api.store.write('pods', { ...(api.get('Pod', NS, 'engine-a') as KubeObject), metadata: { ...(api.get('Pod', NS, 'engine-a') as KubeObject).metadata, deletionTimestamp: new Date().toISOString() } });
  await until('engine-a out while terminating', () => names() === 'engine-b');
  void stopped.then(() => api.remove('Pod', NS, 'engine-a'));
  release();
  await until('engine-a deleted', () => !d.describe().engines.some((e) => e.name === 'engine-a'));
  assert.deepEqual(d.describe().engines.map((e) => `${e.name} ${e.condition} ${e.in_rotation}`), ['engine-b ready true']);
  const watch = api.requests.find((r) => r.query.watch === 'true');
  assert.equal(watch?.path, `/api/v1/namespaces/${NS}/pods`);
  assert.equal(watch?.query.labelSelector, SELECTOR);
  assert.equal(watch?.query.allowWatchBookmarks, 'true');
  assert.ok(Number(watch?.query.timeoutSeconds) >= 300 && Number(watch?.query.timeoutSeconds) < 600, 'a server-side watch timeout of 5 to 10 minutes');
  assert.ok(Number(watch?.query.resourceVersion) > 0, 'the watch starts from the list\'s resourceVersion');
  assert.deepEqual(logs.filter((l) => l.includes('engine-a')), [
    'info engine pod vllm/engine-a found, not ready',
    `info engine pod vllm/engine-a ready at http://127.0.0.2:${engines.port} serving facebook/opt-125m: in rotation`,
    'info engine pod vllm/engine-a terminating: out of rotation',
    'info engine pod vllm/engine-a deleted',
  ]);
  assert.equal(d.healthy(), true);
});

test('410 Gone relists and converges; a bookmark\'s resourceVersion spares a relist; a dropped watch resumes after a back-off', async (t) => {
  const engines = await fakeEngines(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  const api = await KubeApiServer.start();
  t.after(() => api.close());
  api.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  api.addPod(NS, 'engine-b', ENGINE, '127.0.0.3');
  const { logs, names } = start(t, api, engines.port);
  await until('both engines', () => names() === 'engine-a,engine-b');
  await until('the watch', () => api.openWatches === 1);
  const lists = () => api.requests.filter((r) => r.path.endsWith('/pods') && r.query.watch === undefined).length;
  // Compacted away while engine-a went: only a new list can tell.
  api.expireWatches();
  api.store.remove('pods', NS, 'engine-a');
  await until('a relist without engine-a', () => lists() === 2 && names() === 'engine-b');
  assert.equal(count(logs, /listed pods in namespace vllm with labels .* again \(1 found\) after the watch ended with HTTP 410: /), 1);
  // A bookmark moves the watch's resourceVersion forward: after compaction, the resumed watch still may start there.
  await until('the new watch', () => api.openWatches === 1);
  api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: NS }, data: {} });
  api.bookmark();
  // A clean end after the bookmark, on the same stream: the next watch's resourceVersion shows the bookmark was read.
  const bookmarked = String(api.store.revision);
  api.endWatches();
  await until('a watch from the bookmark', () => api.openWatches === 1 && api.requests.at(-1)?.query.watch === 'true' && api.requests.at(-1)?.query.resourceVersion === bookmarked);
  api.compact();
  api.dropWatches();
  api.addPod(NS, 'engine-c', ENGINE, '127.0.0.4');
  await until('engine-c through the resumed watch', () => names() === 'engine-b,engine-c');
  assert.equal(lists(), 2, 'resumed from the bookmark, not listed again');
  assert.equal(count(logs, /^warn k8s discovery of pods .* failed: /), 1, 'the dropped watch is logged once');
  assert.equal(count(logs, /^info k8s discovery works again after/), 1);
  const resumed = api.requests.filter((r) => r.query.watch === 'true').at(-1);
  assert.equal(resumed?.query.resourceVersion, String(api.store.revision - 1), 'from the bookmark\'s resourceVersion');
});

test('an API server that refuses: /health stays up within the bound, then 503 with the reason, logged once each; recovers by itself', async (t) => {
  const engines = await fakeEngines(t, ['127.0.0.2']);
  let deny = true;
  const attempts: number[] = [];
  const api = await KubeApiServer.start({
    authorize: () => {
      attempts.push(performance.now());
      return !deny || 'no RBAC for the test';
    },
  });
  t.after(() => api.close());
  api.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  // The health bound is read on a clock the test moves, so "within" and "past" do not depend on this machine's speed.
  let clock = 1_000_000;
  const { d, logs, names } = start(t, api, engines.port, { 'k8s-unhealthy-after': '1' }, { now: () => clock });
  await until('the first refusal', () => logs.some((l) => l.startsWith('warn')));
  clock += 900;
  assert.equal(d.healthy(), true, 'within the bound');
  assert.match(d.health().problem ?? '', /has been failing for 0\.9 s: HTTP 403: pods "" is forbidden: User "test" cannot list resource "pods" in the namespace "vllm": no RBAC for the test/);
  clock += 200;
  assert.equal(d.healthy(), false, 'past the bound');
  assert.match(d.describe().problem ?? '', /has been failing for 1\.1 s: HTTP 403/);
  await until('retries', () => attempts.length >= 4, 5000);
  const gaps = attempts.slice(1).map((a, i) => a - (attempts[i] as number));
  assert.ok(gaps.every((g) => g >= 0.8 * FAST.retryMinMs - 5), `retried with back-off, never in a loop (gaps ${gaps.map(Math.round).join(', ')} ms)`);
  await until('the bound logged (on the real clock)', () => logs.some((l) => l.startsWith('error')), 5000);
  deny = false;
  await until('recovery', () => d.healthy() && names() === 'engine-a', 5000);
  assert.equal(count(logs, /^warn k8s discovery/), 1);
  assert.equal(count(logs, /^error k8s discovery of pods .* has failed for 1 s \(HTTP 403: .*\): \/health answers 503 until it works again$/), 1);
  assert.equal(count(logs, /^info k8s discovery works again after \d+\.\d s of failures$/), 1);
});

test('an API server that goes away keeps the engines in rotation; when it is back the watch resumes from its resourceVersion', async (t) => {
  const engines = await fakeEngines(t, ['127.0.0.2', '127.0.0.3']);
  const api = await KubeApiServer.start();
  t.after(() => api.close());
  api.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  const { d, logs, names } = start(t, api, engines.port);
  await until('engine-a', () => names() === 'engine-a');
  const port = Number(new URL(api.url).port);
  const lists = () => api.requests.filter((r) => r.query.watch === undefined && r.path.endsWith('/pods')).length;
  assert.equal(lists(), 1);
  await api.close();
  await until('the failure', () => logs.some((l) => l.startsWith('warn')));
  await until('the latest reason: the API server cannot be reached', () => /ECONNREFUSED/.test(d.health().problem ?? ''));
  assert.equal(names(), 'engine-a', 'engines stay while the API is away');
  api.addPod(NS, 'engine-b', ENGINE, '127.0.0.3');
  await api.listen('127.0.0.1', port);
  await until('engine-b after the API is back', () => names() === 'engine-a,engine-b', 5000);
  assert.equal(lists(), 1, 'no new list: the watch resumed');
  assert.equal(d.healthy(), true);
});

test('service-name discovery: one engine per Service whose Endpoints have a ready address, at http://<service>:<port>', async (t) => {
  const engines = await fakeEngines(t, ['127.0.0.1']);
  const api = await KubeApiServer.start();
  t.after(() => api.close());
  // Kubernetes copies a Service's labels to its Endpoints; "localhost" is a name this machine resolves.
  const endpoints = (ready: boolean): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'localhost', namespace: NS, labels: ENGINE }, subsets: [ready ? { addresses: [{ ip: '10.1.0.5' }] } : { notReadyAddresses: [{ ip: '10.1.0.5' }] }] });
  api.put(endpoints(false));
  const { sets, names } = start(t, api, engines.port, { 'k8s-service-discovery-type': 'service-name' });
  api.put(endpoints(true));
  await until('the service', () => names() === 'localhost');
  assert.equal(sets.at(-1)?.[0]?.url, `http://localhost:${engines.port}`);
  api.put(endpoints(false));
  await until('out', () => names() === '');
  assert.ok(api.requests.some((r) => r.path === `/api/v1/namespaces/${NS}/endpoints` && r.query.watch === 'true'));
});

test('an API server that hangs: a list or watch without an answer fails after the request timeout, a watch past its timeoutSeconds is cut', async (t) => {
  let mode: 'answer' | 'silent-watch' | 'hang' = 'silent-watch';
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${url.searchParams.get('watch') ? 'watch' : 'list'} ${mode}`);
    if (mode === 'hang') return;
    if (url.searchParams.get('watch')) {
      // Headers, then nothing, never an end: what a dead connection looks like from here.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = { kubeconfig: () => JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'x', clusters: [{ name: 'x', cluster: { server: url, 'insecure-skip-tls-verify': true } }], users: [{ name: 'x', user: { token: 't' } }], contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }] }) };
  const { d } = start(t, kubeconfig, 8000, { 'k8s-watcher-timeout-seconds': '1' }, { requestTimeoutMs: 1000, watchGraceMs: 300 });
  await until('a silent watch cut after 1 s + the grace', () => /still open 0\.3 s after its 1 s timeout; the connection is presumed dead/.test(d.health().problem ?? ''), 5000);
  await until('the watch asked again', () => seen.filter((s) => s === 'watch silent-watch').length >= 2);
  mode = 'hang';
  await until('a request without an answer', () => /no answer within 1 s/.test(d.health().problem ?? ''), 5000);
  await until('asked again after the request timeout', () => seen.filter((s) => s.endsWith('hang')).length >= 2, 3000);
  mode = 'answer';
});
