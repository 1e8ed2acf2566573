// The cluster double's kube-proxy: a NodePort Service gets a node port kept
// across updates, connections to it reach the Service's ready pods in turn,
// and nothing answers once no pod is ready or the Service is a ClusterIP
// again; a Service's cluster IP, when the double's own, serves its ports.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serviceOf } from './support/cluster-double/cluster-dns.js';
import { ServiceProxy } from './support/cluster-double/service-proxy.js';
import { KubeApiServer } from './support/kube-api-server.js';
import { NODE_PORT_RANGE } from './support/kube-api/defaults.js';

async function pod(name: string, ip: string, port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(port, ip, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

test('node ports: allocated in the range and kept across updates; connections reach ready selected pods in turn; none ready or ClusterIP again: refused', async (t) => {
  const api = new KubeApiServer();
  const address = `127.${100 + (process.pid % 100)}.254.253`;
  const proxy = new ServiceProxy(api.store, address, () => false);
  const a = await pod('a', '127.0.0.1');
  const b = await pod('b', '127.0.0.2', a.port);
  t.after(() => {
    proxy.close();
    a.server.close();
    b.server.close();
  });
  // Two pods on their own addresses at the same port, and one the Service does not select.
  api.addPod('ns', 'a', { app: 'r' }, '127.0.0.1', true);
  api.addPod('ns', 'b', { app: 'r' }, '127.0.0.2', true);
  api.addPod('ns', 'other', { app: 'x' }, '127.0.0.3', true);
  const svc = (type: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'router', namespace: 'ns' }, spec: { type, selector: { app: 'r' }, ports: [{ name: 'http', port: 80, targetPort: a.port }] } });
  const stored = api.put(svc('NodePort'));
  const nodePort = ((stored.spec as { ports: { nodePort: number }[] }).ports[0] as { nodePort: number }).nodePort;
  assert.ok(nodePort >= NODE_PORT_RANGE[0] && nodePort <= NODE_PORT_RANGE[1], String(nodePort));
  const again = api.put(svc('NodePort'));
  assert.equal((again.spec as { ports: { nodePort: number }[] }).ports[0]?.nodePort, nodePort, 'kept across an update');
  await proxy.settled();
  const get = () => fetch(`http://${address}:${nodePort}/`, { headers: { connection: 'close' } }).then((r) => r.text());
  const served = [await get(), await get(), await get(), await get()];
  assert.deepEqual(served.sort(), ['a', 'a', 'b', 'b'], 'the selected pods (app=r) in turn');

  api.setPodReady('ns', 'b', false);
  assert.deepEqual([await get(), await get()], ['a', 'a'], 'only ready pods');
  api.setPodReady('ns', 'a', false);
  await assert.rejects(get(), 'no ready pod: the connection is refused');

  api.put(svc('ClusterIP'));
  await proxy.settled();
  await assert.rejects(get(), 'a ClusterIP Service has no node port');
});

test('cluster IPs: a Service whose cluster IP is the double\'s own serves its ports there, reaching its ready selected pods at the target port (by name too)', async (t) => {
  const octet = 100 + (process.pid % 100);
  let n = 0;
  const api = new KubeApiServer({ serviceAddress: () => `127.${octet}.252.${++n}` });
  const proxy = new ServiceProxy(api.store, `127.${octet}.255.254`, (ip) => ip.startsWith(`127.${octet}.252.`));
  const kv = await pod('decode', '127.0.0.4');
  t.after(() => {
    proxy.close();
    kv.server.close();
  });
  api.addPod('ns', 'decode', { model: 'd' }, '127.0.0.4', true);
  api.updatePod('ns', 'decode', (p) => {
    (p.spec as { containers: unknown[] }).containers = [{ name: 'vllm', ports: [{ name: 'zmq-port', containerPort: kv.port }] }];
  });
  const stored = api.put({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'decode-engine-service', namespace: 'ns' }, spec: { selector: { model: 'd' }, ports: [{ name: 'zmq-port', port: 55555, targetPort: 'zmq-port' }] } });
  const ip = (stored.spec as { clusterIP: string }).clusterIP;
  assert.match(ip, new RegExp(`^127\\.${octet}\\.252\\.\\d+$`));
  await proxy.settled();
  assert.equal(await fetch(`http://${ip}:55555/`, { headers: { connection: 'close' } }).then((r) => r.text()), 'decode');
  api.setPodReady('ns', 'decode', false);
  await assert.rejects(fetch(`http://${ip}:55555/`), 'no ready pod: refused');
});

test('cluster DNS: a Service name, bare (the pod\'s namespace), svc.ns, svc.ns.svc or svc.ns.svc.cluster.local, means that Service; other names go to the host\'s resolver', () => {
  const svc = { namespace: 'vllm-system', name: 'decode-engine-service' };
  for (const name of ['decode-engine-service', 'decode-engine-service.vllm-system', 'decode-engine-service.vllm-system.svc', 'decode-engine-service.vllm-system.svc.cluster.local.']) {
    assert.deepEqual(serviceOf(name, 'vllm-system'), svc, name);
  }
  assert.deepEqual(serviceOf('router', 'other'), { namespace: 'other', name: 'router' });
  for (const name of ['registry.example.com', 'a.b.c.d', '127.0.0.1', 'under_score']) assert.equal(serviceOf(name, 'ns'), null, name);
});
