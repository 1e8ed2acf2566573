// The Kubernetes API test server speaks what @kubernetes/client-node expects:
// its informer, typed clients, raw watch and port-forward all work against it,
// including the protocol's hard cases (410 Gone, dropped connections, bookmarks).
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';

const NS = 'vllm-system';
const ENGINE = { app: 'engine', release: 'baseline' };

function clients(server: KubeApiServer): { kc: k8s.KubeConfig; core: k8s.CoreV1Api; apps: k8s.AppsV1Api } {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function podInformer(server: KubeApiServer, selector: string) {
  const { kc, core } = clients(server);
  const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/pods`, () => core.listNamespacedPod({ namespace: NS, labelSelector: selector }), selector);
  const log: string[] = [];
  const errors: unknown[] = [];
  informer.on('add', (p) => log.push(`add ${p.metadata?.name}`));
  informer.on('update', (p) => log.push(`update ${p.metadata?.name}`));
  informer.on('delete', (p) => log.push(`delete ${p.metadata?.name}`));
  informer.on('error', (e) => errors.push(e));
  const names = () => informer.list(NS).map((p) => p.metadata?.name).sort();
  return { informer, log, errors, names };
}

test('an informer lists, then follows additions, changes and deletions from the list resourceVersion, by label selector', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  server.addPod(NS, 'other', { app: 'router' }, '127.0.0.9');
  const { informer, log, names } = podInformer(server, 'app=engine,release=baseline');
  await informer.start();
  t.after(() => informer.stop());
  assert.deepEqual(names(), ['engine-a']);
  server.addPod(NS, 'engine-b', ENGINE, '127.0.0.3', false);
  await until('engine-b', () => names().includes('engine-b'));
  server.setPodReady(NS, 'engine-b', true);
  await until('the update', () => log.includes('update engine-b'));
  assert.equal(informer.get('engine-b', NS)?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  // A pod whose labels stop matching leaves the watch as DELETED.
  const b = server.get('Pod', NS, 'engine-b') as KubeObject;
  server.put({ ...b, metadata: { ...b.metadata, labels: { app: 'engine', release: 'dev' } } });
  await until('engine-b to leave', () => !names().includes('engine-b'));
  server.remove('Pod', NS, 'engine-a');
  await until('engine-a deleted', () => names().length === 0);
  const watches = server.requests.filter((r) => r.query.watch === 'true');
  assert.equal(watches[0]?.query.resourceVersion !== undefined && watches[0].query.resourceVersion !== '', true, 'the watch starts from the list resourceVersion');
  assert.equal(watches[0]?.query.labelSelector, 'app=engine,release=baseline');
  assert.deepEqual(log, ['add engine-a', 'add engine-b', 'update engine-b', 'delete engine-b', 'delete engine-a']);
});

test('410 Gone: after compaction the informer lists again and converges, deletions missed meanwhile included', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  server.addPod(NS, 'engine-b', ENGINE, '127.0.0.3');
  const { informer, log, names } = podInformer(server, 'app=engine');
  await informer.start();
  t.after(() => informer.stop());
  const lists = () => server.requests.filter((r) => r.path.endsWith('/pods') && r.query.watch === undefined).length;
  assert.equal(lists(), 1);
  // The watch ends with an ERROR 410 event; changes made meanwhile are only visible to a new list.
  server.expireWatches();
  server.store.remove('pods', NS, 'engine-a');
  server.addPod(NS, 'engine-c', ENGINE, '127.0.0.4');
  await until('a relist', () => lists() === 2 && names().join() === 'engine-b,engine-c');
  assert.ok(log.includes('delete engine-a') && log.includes('add engine-c'));
  // A watch asked for from a compacted resourceVersion is refused with 410 as well.
  server.compact();
  const { kc } = clients(server);
  const events: { type: string; code?: number }[] = [];
  await new Promise<void>((resolve) => {
    void new k8s.Watch(kc).watch(`/api/v1/namespaces/${NS}/pods`, { resourceVersion: '2' }, (type, obj: { code?: number }) => events.push({ type, code: obj.code }), () => resolve());
  });
  assert.deepEqual(events, [{ type: 'ERROR', code: 410 }]);
});

test('a dropped watch connection is an informer error; restarting it resumes from its resourceVersion without losing a change', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  const { informer, errors, names } = podInformer(server, 'app=engine');
  await informer.start();
  t.after(() => informer.stop());
  await until('the watch', () => server.openWatches === 1);
  server.dropWatches();
  await until('the error', () => errors.length === 1);
  server.addPod(NS, 'engine-b', ENGINE, '127.0.0.3');
  await informer.start();
  await until('engine-b', () => names().join() === 'engine-a,engine-b');
  const lastWatch = server.requests.filter((r) => r.query.watch === 'true').at(-1);
  assert.notEqual(lastWatch?.query.resourceVersion, '', 'resumed from a resourceVersion, not relisted');
  // A clean end (timeoutSeconds) is no error: the informer simply watches again.
  server.endWatches();
  server.addPod(NS, 'engine-c', ENGINE, '127.0.0.4');
  await until('engine-c', () => names().length === 3);
  assert.equal(errors.length, 1);
});

test('bookmarks carry the newest resourceVersion to watches that allow them; watches start with ADDED per object without one', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  const { kc } = clients(server);
  const seen: string[] = [];
  const req = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${NS}/pods`, { allowWatchBookmarks: true }, (type, obj: KubeObject) => seen.push(`${type} ${obj.metadata.name ?? obj.metadata.resourceVersion}`), () => undefined);
  t.after(() => req.abort());
  await until('ADDED', () => seen.length === 1);
  server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: NS }, data: {} });
  server.bookmark();
  await until('BOOKMARK', () => seen.length === 2);
  assert.deepEqual(seen, ['ADDED engine-a', `BOOKMARK ${server.store.revision}`]);
});

test('deployments: the scale subresource drives the pods, status counts ready replicas, pods delete gracefully or at once', async (t) => {
  const stopped: string[] = [];
  // A graceful stop lasts until the test lets it end, so the terminating state is seen whatever the timing.
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => { release = r; });
  let ip = 10;
  const server = await KubeApiServer.start({
    pods: {
      podIP: () => `127.0.0.${ip++}`,
      stop: async (_pod, graceful) => {
        stopped.push(graceful ? 'graceful' : 'kill');
        if (graceful) await released;
      },
    },
  });
  t.after(() => server.close());
  const { apps, core } = clients(server);
  await apps.createNamespacedDeployment({
    namespace: NS,
    body: { metadata: { name: 'engine' }, spec: { replicas: 1, selector: { matchLabels: ENGINE }, template: { metadata: { labels: ENGINE }, spec: { containers: [{ name: 'vllm', image: 'sim:1' }] } } } },
  });
  const readyReplicas = async () => (await apps.readNamespacedDeployment({ name: 'engine', namespace: NS })).status?.readyReplicas ?? 0;
  const scale = await apps.readNamespacedDeploymentScale({ name: 'engine', namespace: NS });
  assert.equal(scale.spec?.replicas, 1);
  assert.equal(scale.status?.selector, 'app=engine,release=baseline');
  await apps.replaceNamespacedDeploymentScale({ name: 'engine', namespace: NS, body: { metadata: { name: 'engine', namespace: NS }, spec: { replicas: 3 } } });
  for (let i = 0; i < 100 && (await readyReplicas()) < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await readyReplicas(), 3);
  const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=engine' })).items;
  assert.deepEqual(pods.map((p) => p.status?.podIP).sort(), ['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  // Graceful deletion: the pod stays, terminating, until it has stopped; a replacement comes at once.
  const victim = pods[0]?.metadata?.name ?? '';
  const deleted = await core.deleteNamespacedPod({ name: victim, namespace: NS });
  assert.ok(deleted.metadata?.deletionTimestamp, 'deletionTimestamp set');
  assert.ok((await core.readNamespacedPod({ name: victim, namespace: NS })).metadata?.deletionTimestamp);
  await until('a replacement', () => server.list('Pod', NS).filter((p) => !p.metadata.deletionTimestamp).length === 3);
  release();
  await until('the pod to go', () => !server.get('Pod', NS, victim));
  const killed = server.list('Pod', NS).find((p) => !p.metadata.deletionTimestamp)?.metadata.name ?? '';
  await core.deleteNamespacedPod({ name: killed, namespace: NS, gracePeriodSeconds: 0 });
  assert.equal(server.get('Pod', NS, killed), undefined, 'grace period 0 removes at once');
  await until('3 ready again', () => server.list('Pod', NS).filter((p) => server.isReady(p) && !p.metadata.deletionTimestamp).length === 3);
  assert.deepEqual(stopped, ['graceful', 'kill']);
  // Scaling down removes pods (gracefully), a bad replica count is 422.
  await apps.patchNamespacedDeploymentScale({ name: 'engine', namespace: NS, body: { spec: { replicas: 1 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await until('1 pod', () => server.list('Pod', NS).length === 1);
  await assert.rejects(apps.replaceNamespacedDeploymentScale({ name: 'engine', namespace: NS, body: { spec: { replicas: -1 } } }), (e: k8s.ApiException<unknown>) => e.code === 422);
  await assert.rejects(apps.readNamespacedDeploymentScale({ name: 'nope', namespace: NS }), (e: k8s.ApiException<unknown>) => e.code === 404);
});

test('a Deployment owns a ReplicaSet per pod template, which owns the pods; a template change rolls to a new one, the old scaled to 0 once it is available; deletion collects them, or orphans them', async (t) => {
  // Pods of the second template start when the test says: the rollout is seen half-way, whatever the timing.
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => { release = r; });
  const server = await KubeApiServer.start({ pods: { start: async (pod) => { if ((pod.spec as { containers: { image: string }[] }).containers[0]?.image === 'sim:2') await released; } } });
  t.after(() => server.close());
  const { apps } = clients(server);
  const template = (image: string) => ({ metadata: { labels: ENGINE }, spec: { containers: [{ name: 'vllm', image }] } });
  await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'engine' }, spec: { replicas: 2, selector: { matchLabels: ENGINE }, template: template('sim:1') } } });
  const sets = () => server.list('ReplicaSet', NS);
  const podsOf = (rs: KubeObject) => server.list('Pod', NS).filter((p) => !p.metadata.deletionTimestamp && p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid);
  const status = () => server.get('Deployment', NS, 'engine')?.status as { replicas: number; updatedReplicas: number; availableReplicas: number; conditions: { type: string; reason: string }[] };
  await until('2 available', () => status()?.availableReplicas === 2);
  const [first] = sets();
  assert.ok(first && sets().length === 1, 'one ReplicaSet');
  const hash = first.metadata.labels?.['pod-template-hash'] ?? '';
  assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(first.metadata.name, `engine-${hash}`);
  assert.deepEqual(first.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['Deployment', 'engine', true]]);
  assert.deepEqual((first.spec as { selector: unknown }).selector, { matchLabels: { ...ENGINE, 'pod-template-hash': hash } });
  assert.equal(podsOf(first).length, 2);
  for (const pod of podsOf(first)) {
    assert.match(pod.metadata.name, new RegExp(`^engine-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.equal(pod.metadata.labels?.['pod-template-hash'], hash);
  }
  // A scale keeps the ReplicaSet: no new template.
  await apps.patchNamespacedDeploymentScale({ name: 'engine', namespace: NS, body: { spec: { replicas: 3 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await until('3 available', () => status()?.availableReplicas === 3);
  assert.equal(sets().length, 1);

  // A new template: a second ReplicaSet comes up beside the first, which keeps its pods until the new ones are available.
  await apps.patchNamespacedDeployment({ name: 'engine', namespace: NS, body: { spec: { template: template('sim:2') } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await until('a second ReplicaSet with 3 pods', () => sets().length === 2 && sets().some((rs) => rs.metadata.uid !== first.metadata.uid && podsOf(rs).length === 3));
  const second = sets().find((rs) => rs.metadata.uid !== first.metadata.uid) as KubeObject;
  assert.notEqual(second.metadata.labels?.['pod-template-hash'], hash);
  assert.deepEqual([first, second].map((rs) => server.get('ReplicaSet', NS, rs.metadata.name)?.metadata.annotations?.['deployment.kubernetes.io/revision']), ['1', '2']);
  assert.equal(podsOf(first).length, 3, 'the old pods stay while the new are not available');
  assert.deepEqual([status().replicas, status().updatedReplicas, status().availableReplicas], [6, 3, 3]);
  assert.equal(status().conditions.find((c) => c.type === 'Progressing')?.reason, 'ReplicaSetUpdated');
  release();
  await until('the rollout complete', () => status().conditions.find((c) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable');
  assert.equal((server.get('ReplicaSet', NS, first.metadata.name)?.spec as { replicas: number }).replicas, 0);
  assert.equal(podsOf(first).length, 0);
  assert.deepEqual([status().replicas, status().updatedReplicas, status().availableReplicas], [3, 3, 3]);
  assert.equal(server.get('Deployment', NS, 'engine')?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');

  // Deleting a ReplicaSet under its Deployment: the Deployment makes it again.
  await apps.deleteNamespacedReplicaSet({ name: second.metadata.name, namespace: NS });
  await until('the ReplicaSet made again, with 3 available pods', () => (server.get('ReplicaSet', NS, second.metadata.name)?.status as { availableReplicas?: number } | undefined)?.availableReplicas === 3);
  // Deleting the Deployment (Background, as helm uninstall and kubectl delete ask): its ReplicaSets and their pods go.
  await apps.deleteNamespacedDeployment({ name: 'engine', namespace: NS, body: { propagationPolicy: 'Background' } });
  assert.deepEqual(sets(), []);
  await until('every pod gone', () => server.list('Pod', NS).length === 0);
  // Orphan: the ReplicaSet and its pods stay, without the owner reference.
  await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'engine' }, spec: { replicas: 1, selector: { matchLabels: ENGINE }, template: template('sim:1') } } });
  await until('1 available', () => status()?.availableReplicas === 1);
  await apps.deleteNamespacedDeployment({ name: 'engine', namespace: NS, body: { propagationPolicy: 'Orphan' } });
  assert.deepEqual(sets().map((rs) => rs.metadata.ownerReferences ?? []), [[]]);
  assert.equal(server.list('Pod', NS).length, 1);
});

/** A server whose pods, deleted with a grace period, stop only once the test calls release(). */
async function holdingGracefulStops(t: TestContext): Promise<{ server: KubeApiServer; release: () => void }> {
  let release: () => void = () => undefined;
  const released = new Promise<void>((r) => { release = r; });
  const server = await KubeApiServer.start({ pods: { stop: async (_pod, graceful) => { if (graceful) await released; } } });
  t.after(() => server.close());
  return { server, release };
}

test("strategy Recreate: every old pod is gone before the new template's ReplicaSet makes any", async (t) => {
  // Old pods take as long to stop as the test says: the new ones must wait for them, whatever the timing.
  const { server, release } = await holdingGracefulStops(t);
  const { apps } = clients(server);
  const template = (image: string) => ({ metadata: { labels: ENGINE }, spec: { containers: [{ name: 'vllm', image }] } });
  await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'engine' }, spec: { replicas: 2, strategy: { type: 'Recreate' }, selector: { matchLabels: ENGINE }, template: template('sim:1') } } });
  const status = () => server.get('Deployment', NS, 'engine')?.status as { availableReplicas?: number; updatedReplicas?: number } | undefined;
  await until('2 available', () => status()?.availableReplicas === 2);
  await apps.patchNamespacedDeployment({ name: 'engine', namespace: NS, body: { spec: { template: template('sim:2') } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await until('the old pods terminating', () => server.list('Pod', NS).length === 2 && server.list('Pod', NS).every((p) => p.metadata.deletionTimestamp));
  assert.equal(server.list('ReplicaSet', NS).length, 1, 'no ReplicaSet for the new template while old pods run');
  release();
  await until('2 new pods available', () => status()?.availableReplicas === 2 && status()?.updatedReplicas === 2);
  assert.deepEqual(server.list('Pod', NS).map((p) => (p.spec as { containers: { image: string }[] }).containers[0]?.image), ['sim:2', 'sim:2']);
});

test('Foreground deletion: the Deployment and its ReplicaSet stay, terminating, until their pods are gone; nothing is made meanwhile', async (t) => {
  const { server, release } = await holdingGracefulStops(t);
  const { apps } = clients(server);
  await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'engine' }, spec: { replicas: 2, selector: { matchLabels: ENGINE }, template: { metadata: { labels: ENGINE }, spec: { containers: [{ name: 'vllm', image: 'sim:1' }] } } } } });
  await until('2 available', () => (server.get('Deployment', NS, 'engine')?.status as { availableReplicas?: number } | undefined)?.availableReplicas === 2);
  await apps.deleteNamespacedDeployment({ name: 'engine', namespace: NS, body: { propagationPolicy: 'Foreground' } });
  const terminating = (o: KubeObject | undefined) => Boolean(o?.metadata.deletionTimestamp) && ((o?.metadata.finalizers as string[] | undefined) ?? []).includes('foregroundDeletion');
  assert.ok(terminating(server.get('Deployment', NS, 'engine')), 'the Deployment waits, with the foregroundDeletion finalizer');
  assert.ok(server.list('ReplicaSet', NS).length === 1 && server.list('ReplicaSet', NS).every(terminating), 'so does its ReplicaSet');
  assert.deepEqual(server.list('Pod', NS).map((p) => Boolean(p.metadata.deletionTimestamp)), [true, true], 'its pods terminate; no replacement is made');
  release();
  await until('all gone', () => !server.get('Deployment', NS, 'engine') && server.list('ReplicaSet', NS).length === 0 && server.list('Pod', NS).length === 0);
});

test('SelfSubjectAccessReview answers with the access rule that also guards requests; nodes report capacity; tokens are checked', async (t) => {
  const server = await KubeApiServer.start({ authorize: (a) => a.verb !== 'create' || a.resource !== 'secrets' || 'secrets are read-only here' });
  t.after(() => server.close());
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-1' }, status: { capacity: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4' }, allocatable: { cpu: '31', memory: '250Gi', 'nvidia.com/gpu': '4' } } });
  const { kc, core } = clients(server);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const review = (verb: string, resource: string) => authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: NS, verb, resource } } } });
  assert.equal((await review('create', 'pods')).status?.allowed, true);
  const denied = await review('create', 'secrets');
  assert.equal(denied.status?.allowed, false);
  assert.equal(denied.status?.reason, 'secrets are read-only here');
  await assert.rejects(core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's' } } }), (e: k8s.ApiException<string>) => e.code === 403 && String(e.body).includes('cannot create resource'));
  const nodes = await core.listNode();
  assert.equal(nodes.items[0]?.status?.allocatable?.['nvidia.com/gpu'], '4');
  const bad = new k8s.KubeConfig();
  bad.loadFromString(server.kubeconfig().replace(server.token, 'wrong'));
  await assert.rejects(bad.makeApiClient(k8s.CoreV1Api).listNode(), (e: k8s.ApiException<unknown>) => e.code === 401);
  assert.equal((await kc.makeApiClient(k8s.VersionApi).getCode()).major, '1');
});

test('port-forward over WebSocket reaches the pod address, both ways, one connection per forward', async (t) => {
  const http = createHttpServer((req, res) => res.end(`hello from ${req.socket.localAddress} ${req.url}`));
  await new Promise<void>((r) => http.listen(0, '127.0.0.2', r));
  t.after(() => new Promise<void>((r) => http.close(() => r())));
  const port = (http.address() as AddressInfo).port;
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.addPod(NS, 'engine-a', ENGINE, '127.0.0.2');
  const { kc } = clients(server);
  const forward = new k8s.PortForward(kc);
  // The usual client-node pattern: a local TCP server, one forward per accepted connection.
  const local = createTcpServer((socket: Socket) => {
    void forward.portForward(NS, 'engine-a', [port], socket, null, socket);
  });
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => local.close(() => r())));
  const localPort = (local.address() as AddressInfo).port;
  for (const path of ['/health', '/v1/models']) {
    const res = await fetch(`http://127.0.0.1:${localPort}${path}`, { headers: { connection: 'close' } });
    assert.equal(await res.text(), `hello from 127.0.0.2 ${path}`);
  }
  await assert.rejects(forward.portForward(NS, 'missing', [port], new PassThrough(), null, new PassThrough()), 'no such pod: the upgrade is refused');
});
