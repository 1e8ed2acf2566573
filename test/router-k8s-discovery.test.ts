// The router with Kubernetes discovery, as a process, against the Kubernetes
// API test server, with engine simulator processes as pods on distinct
// loopback addresses sharing one port. A pod goes added → ready → unready →
// ready → terminating (with streams running on it) → deleted while traffic
// flows; at each step the routing set and the engines' own request counts
// are checked, and no request sent after the router has seen an unready or
// terminating event reaches that pod. Then discovery fails (RBAC revoked)
// and /health says so after its bound. State changes are logged once each.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { startListening, type Listening } from './support/listening.js';
import { sharedFreePort, until } from './support/loopback.js';
import { REPO } from './support/temp-project.js';

const NS = 'vllm';
const LABELS = { environment: 'test', release: 'test' };
const MODEL = 'facebook/opt-125m';
const PODS = { 'pod-a': '127.0.0.2', 'pod-b': '127.0.0.3', 'pod-c': '127.0.0.4' } as const;
type Pod = keyof typeof PODS;
const SIM = join(REPO, 'dist/engine-sim/src/main.js');
const ROUTER = join(REPO, 'dist/router/src/main.js');

interface Answer { sentAt: number; engine: string; status: number }

test('pods through their lifecycle under traffic: the routing set follows each event at once, running requests finish, nothing new reaches a pod that left', async (t) => {
  const port = await sharedFreePort(Object.values(PODS));
  const engines = new Map<Pod, Listening>();
  await Promise.all((Object.entries(PODS) as [Pod, string][]).map(async ([pod, ip]) => {
    engines.set(pod, await startListening([SIM, '--host', ip, '--port', String(port), '--instance-id', pod, '--prefill-overhead', '1', '--inter-token-latency', '20']));
  }));
  t.after(() => Promise.all([...engines.values()].map((e) => e.stop())));
  let deny = false;
  let releaseA: () => void = () => undefined;
  const aMayStop = new Promise<void>((r) => { releaseA = r; });
  const api = await KubeApiServer.start({
    authorize: () => !deny || 'RBAC revoked by the test',
    // pod-a's grace period lasts until the test ends it, as a preStop hook would.
    pods: { stop: async (pod) => { if (pod.metadata.name === 'pod-a') await aMayStop; } },
  });
  const dir = await mkdtemp(join(tmpdir(), 'router-k8s-'));
  t.after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'), NS);
  const router = await startListening([ROUTER, '--host', '127.0.0.1', '--port', '0', '--service-discovery', 'k8s', '--k8s-namespace', NS,
    '--k8s-label-selector', 'environment=test,release=test', '--k8s-port', String(port), '--routing-logic', 'roundrobin', '--k8s-unhealthy-after', '1'],
  { KUBECONFIG: kubeconfig, VLLM_API_KEY: '' });
  t.after(() => router.stop());
  const url = `http://127.0.0.1:${router.port}`;
  const engineOf = new Map((Object.entries(PODS) as [Pod, string][]).map(([pod, ip]) => [`http://${ip}:${port}`, pod]));

  const answers: Answer[] = [];
  const ask = async (stream = false): Promise<Answer & { body: string }> => {
    const sentAt = performance.now();
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Hello there', max_tokens: stream ? 100 : 1, stream }),
    });
    const body = await res.text();
    const a = { sentAt, engine: engineOf.get(res.headers.get('x-router-engine') ?? '') ?? '(router)', status: res.status };
    answers.push(a);
    return { ...a, body };
  };
  const askN = async (n: number) => {
    const got: string[] = [];
    for (let i = 0; i < n; i++) got.push((await ask()).engine);
    return got.sort().join(',');
  };
  /** Requests one after another until stopped: traffic that is running when events arrive. */
  const traffic = () => {
    let on = true;
    const done = (async () => { while (on) await ask(); })();
    return async () => { on = false; await done; };
  };
  const rotation = async () => {
    const body = await (await fetch(`${url}/engines`)).json() as { engines: { pod: { name: string } | null }[] };
    return body.engines.map((e) => e.pod?.name).sort().join(',');
  };
  /** What an engine says it has served (its own counter), by pod. */
  const served = async (pod: Pod) => {
    const text = await (await fetch(`http://${PODS[pod]}:${port}/metrics`)).text();
    return [...text.matchAll(/^vllm:request_success_total\{[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
  };
  const running = async (pod: Pod) => {
    const m = /^vllm:num_requests_running\{[^}]*\} (\d+)/m.exec(await (await fetch(`http://${PODS[pod]}:${port}/metrics`)).text());
    return Number(m?.[1] ?? 0);
  };
  /** Waits until the router shows exactly this set, then returns the time: from here on it has seen the event. */
  const seen = async (set: string) => {
    await until(`the router to route to [${set}]`, async () => (await rotation()) === set);
    return performance.now();
  };
  /** Lets the traffic run until a few requests were sent after `since`, stops it, and checks where they went. */
  const noneAfter = async (since: number, pod: Pod, stopTraffic: () => Promise<void>) => {
    await until('traffic after the event', () => answers.filter((a) => a.sentAt > since).length >= 5);
    await stopTraffic();
    const after = answers.filter((a) => a.sentAt > since);
    assert.deepEqual(after.filter((a) => a.engine === pod), [], `nothing sent after the router saw ${pod} leave reached it`);
    assert.ok(after.every((a) => a.status === 200), 'and every one of them was answered');
  };

  // Added, not ready: not an engine yet.
  api.addPod(NS, 'pod-a', LABELS, PODS['pod-a'], false);
  api.addPod(NS, 'pod-b', LABELS, PODS['pod-b'], true);
  await seen('pod-b');
  assert.equal(await askN(4), 'pod-b,pod-b,pod-b,pod-b');
  // Ready: in rotation, round robin shares the traffic.
  api.setPodReady(NS, 'pod-a', true);
  await seen('pod-a,pod-b');
  assert.equal(await askN(6), 'pod-a,pod-a,pod-a,pod-b,pod-b,pod-b');
  // Unready while traffic runs: out at once.
  let stop = traffic();
  await until('traffic running', () => answers.length >= 14);
  api.setPodReady(NS, 'pod-a', false);
  const unreadySeen = await seen('pod-b');
  await noneAfter(unreadySeen, 'pod-a', stop);
  // Ready again, then terminating with streams running on it: they finish, new requests go elsewhere.
  api.setPodReady(NS, 'pod-a', true);
  await seen('pod-a,pod-b');
  const streams = Promise.all([ask(true), ask(true), ask(true), ask(true)]);
  await until('streams running on pod-a', async () => (await running('pod-a')) >= 1);
  stop = traffic();
  api.deletePod(NS, 'pod-a', 30);
  const terminatingSeen = await seen('pod-b');
  assert.ok((await api.get('Pod', NS, 'pod-a') as KubeObject).metadata.deletionTimestamp, 'pod-a is still there, terminating');
  await noneAfter(terminatingSeen, 'pod-a', stop);
  const finished = await streams;
  assert.deepEqual(finished.map((s) => s.status), [200, 200, 200, 200]);
  assert.ok(finished.filter((s) => s.engine === 'pod-a').length >= 1 && finished.every((s) => s.body.trimEnd().endsWith('data: [DONE]')), 'the streams on the terminating pod ran to their end');
  // Deleted: gone from discovery too.
  releaseA();
  await until('pod-a deleted', async () => {
    const body = await (await fetch(`${url}/engines`)).json() as { discovery: { engines: { name: string }[] } };
    return !body.discovery.engines.some((e) => e.name === 'pod-a');
  });
  // Scaled up: a new pod takes its share.
  api.addPod(NS, 'pod-c', LABELS, PODS['pod-c'], true);
  await seen('pod-b,pod-c');
  assert.equal(await askN(4), 'pod-b,pod-b,pod-c,pod-c');

  // Every answer's engine agrees with the engines' own counts.
  for (const pod of Object.keys(PODS) as Pod[]) {
    assert.equal(await served(pod), answers.filter((a) => a.engine === pod).length, `${pod} served exactly what the router says it sent there`);
  }

  // Discovery failing: engines found stay in rotation; /health turns 503 after the bound, with the reason, and recovers.
  deny = true;
  api.dropWatches();
  await until('the failure logged', () => /WARN k8s discovery of pods .* failed: the watch connection was cut/.test(router.output()));
  const health = async () => {
    const res = await fetch(`${url}/health`);
    return { status: res.status, body: await res.json() as { status: string; reason?: string } };
  };
  assert.equal(await askN(2), 'pod-b,pod-c', 'the engines found keep serving while discovery fails');
  await until('503 after 1 s of failures', async () => (await health()).status === 503, 5000);
  assert.match((await health()).body.reason ?? '', /Kubernetes discovery of pods in namespace vllm with labels environment=test,release=test has been failing for \d+\.\d s: HTTP 403: Forbidden \(the router's account may not list or watch them/);
  deny = false;
  await until('healthy again', async () => (await health()).status === 200, 5000);

  // Each state change logged once.
  const lines = router.output().split('\n');
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  assert.equal(count(/INFO engine pod vllm\/pod-a found, not ready$/), 1);
  assert.equal(count(/INFO engine pod vllm\/pod-a ready at http:\/\/127\.0\.0\.2:\d+ serving facebook\/opt-125m: in rotation$/), 2);
  assert.equal(count(/INFO engine pod vllm\/pod-a not ready: out of rotation$/), 1);
  assert.equal(count(/INFO engine pod vllm\/pod-a terminating: out of rotation$/), 1);
  assert.equal(count(/INFO engine pod vllm\/pod-a deleted$/), 1);
  assert.equal(count(/WARN k8s discovery of pods .* failed/), 1);
  assert.equal(count(/ERROR k8s discovery of pods .* has failed for 1 s/), 1);
  assert.equal(count(/INFO k8s discovery works again after/), 1);
});
