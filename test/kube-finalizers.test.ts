// Finalizers in the Kubernetes API test server, through @kubernetes/client-node
// as the harness and helm reach it: a deleted object with finalizers stays,
// terminating, until an update removes them, and takes no new ones meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeApiServer } from './support/kube-api-server.js';

const NS = 'vllm-system';
const FINALIZER = 'example.com/cleanup';

function clients(server: KubeApiServer): { kc: k8s.KubeConfig; core: k8s.CoreV1Api } {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api) };
}

async function watchEvents(t: { after: (fn: () => unknown) => void }, kc: k8s.KubeConfig): Promise<{ events: string[]; next: (what: string) => Promise<void> }> {
  const events: string[] = [];
  let wake: () => void = () => undefined;
  const req = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${NS}/configmaps`, {}, (type: string, o: k8s.V1ConfigMap) => {
    events.push(`${type} ${o.metadata?.name}${o.metadata?.deletionTimestamp ? ' terminating' : ''} [${(o.metadata?.finalizers ?? []).join(',')}]`);
    wake();
  }, () => undefined);
  t.after(() => req.abort());
  // Resolves once an event naming `what` arrived (events come as the server writes them; no timing).
  const next = (what: string) => new Promise<void>((resolve) => {
    const check = () => { if (events.some((e) => e.startsWith(what))) resolve(); else wake = check; };
    check();
  });
  return { events, next };
}

test('a DELETE keeps an object with finalizers, terminating; a repeated one returns it; removing the last finalizer removes it (DELETED)', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const { kc, core } = clients(server);
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held', finalizers: [FINALIZER, 'other/x'] }, data: { a: '1' } } });
  const { events, next } = await watchEvents(t, kc);
  await next('ADDED held');

  await core.deleteNamespacedConfigMap({ name: 'held', namespace: NS });
  const held = await core.readNamespacedConfigMap({ name: 'held', namespace: NS });
  assert.ok(held.metadata?.deletionTimestamp, 'still there, with a deletionTimestamp');
  assert.equal(held.metadata?.deletionGracePeriodSeconds, 0);
  assert.deepEqual((await core.listNamespacedConfigMap({ namespace: NS })).items.map((c) => c.metadata?.name), ['held']);
  await next('MODIFIED held terminating');
  const rv = held.metadata?.resourceVersion;
  await core.deleteNamespacedConfigMap({ name: 'held', namespace: NS });
  assert.equal((await core.readNamespacedConfigMap({ name: 'held', namespace: NS })).metadata?.resourceVersion, rv, 'a repeated DELETE changes nothing');

  // An update cannot clear the deletionTimestamp; removing one finalizer of two keeps the object.
  await core.replaceNamespacedConfigMap({ name: 'held', namespace: NS, body: { ...held, metadata: { ...held.metadata, deletionTimestamp: undefined, finalizers: ['other/x'] } } });
  assert.ok((await core.readNamespacedConfigMap({ name: 'held', namespace: NS })).metadata?.deletionTimestamp);

  await core.patchNamespacedConfigMap({ name: 'held', namespace: NS, body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }] });
  await assert.rejects(core.readNamespacedConfigMap({ name: 'held', namespace: NS }), (err: { code?: number }) => err.code === 404);
  await next('DELETED held');
  assert.deepEqual(events, [
    `ADDED held [${FINALIZER},other/x]`,
    `MODIFIED held terminating [${FINALIZER},other/x]`,
    'MODIFIED held terminating [other/x]',
    // As etcd's delete: the DELETED event carries the object as last stored.
    'DELETED held terminating [other/x]',
  ]);
});

test('no finalizer can be added to an object being deleted (422); one without finalizers goes at once', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const { core } = clients(server);
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held', finalizers: [FINALIZER] } } });
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'plain' } } });
  await core.deleteNamespacedConfigMap({ name: 'held', namespace: NS });
  await assert.rejects(
    core.patchNamespacedConfigMap({ name: 'held', namespace: NS, body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'late/one' }] }),
    (err: { code?: number; body?: string }) => err.code === 422 && String(err.body).includes('Forbidden: no new finalizers can be added if the object is being deleted') && String(err.body).includes('late/one'),
  );
  assert.deepEqual((await core.readNamespacedConfigMap({ name: 'held', namespace: NS })).metadata?.finalizers, [FINALIZER]);
  // Before the delete, a finalizer may be added.
  await core.patchNamespacedConfigMap({ name: 'plain', namespace: NS, body: [{ op: 'add', path: '/metadata/finalizers', value: ['late/one'] }] });
  await core.patchNamespacedConfigMap({ name: 'plain', namespace: NS, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
  await core.deleteNamespacedConfigMap({ name: 'plain', namespace: NS });
  await assert.rejects(core.readNamespacedConfigMap({ name: 'plain', namespace: NS }), (err: { code?: number }) => err.code === 404);
});

test('a pod with a finalizer stays, terminating, after it stopped, until the finalizer is removed', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const { core } = clients(server);
  server.addPod(NS, 'engine', { app: 'engine' }, '127.0.0.2');
  await core.patchNamespacedPod({ name: 'engine', namespace: NS, body: [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }] });
  await core.deleteNamespacedPod({ name: 'engine', namespace: NS, gracePeriodSeconds: 0 });
  assert.ok((await core.readNamespacedPod({ name: 'engine', namespace: NS })).metadata?.deletionTimestamp);
  await core.patchNamespacedPod({ name: 'engine', namespace: NS, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
  await assert.rejects(core.readNamespacedPod({ name: 'engine', namespace: NS }), (err: { code?: number }) => err.code === 404);
});

test("a server-side apply (helm's upgrade) without finalizers keeps those a controller set, terminating or not", async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const { core } = clients(server);
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'held', finalizers: [FINALIZER] }, data: { a: '1' } } });
  const apply = (data: Record<string, string>) => fetch(`${server.url}/api/v1/namespaces/${NS}/configmaps/held?fieldManager=helm`, {
    method: 'PATCH', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/apply-patch+yaml' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: NS }, data }),
  });
  assert.equal((await apply({ a: '2' })).status, 200);
  assert.deepEqual((await core.readNamespacedConfigMap({ name: 'held', namespace: NS })).metadata?.finalizers, [FINALIZER]);
  await core.deleteNamespacedConfigMap({ name: 'held', namespace: NS });
  assert.equal((await apply({ a: '3' })).status, 200);
  const held = await core.readNamespacedConfigMap({ name: 'held', namespace: NS });
  assert.deepEqual([held.metadata?.finalizers, Boolean(held.metadata?.deletionTimestamp), held.data?.a], [[FINALIZER], true, '3'], 'still terminating, finalizer kept');
});
