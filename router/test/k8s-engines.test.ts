// Which discovered engines are in rotation (pure, no sockets): Kubernetes'
// readiness as production-stack reads it, models fetched with back-off before
// an engine enters, and leaving at once on the event that says not ready,
// terminating or deleted; each change handed on once and logged once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import { EngineTracker, type DiscoveredEngine } from '../src/discovery/k8s-engines.js';
import { podEngine, serviceEngine, type EngineView } from '../src/discovery/k8s-objects.js';
import { modelIds } from '../src/discovery/engine-models.js';

function pod(name: string, opts: { ip?: string; ready?: boolean[]; deleting?: boolean; model?: string; readyAt?: string } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'ns', labels: opts.model ? { model: opts.model } : {}, ...(opts.deleting ? { deletionTimestamp: new Date('2026-01-01T00:00:09Z') } : {}) },
    status: {
      ...(opts.ip !== undefined ? { podIP: opts.ip } : {}),
      conditions: [{ type: 'Ready', status: (opts.ready ?? [true]).every(Boolean) ? 'True' : 'False', lastTransitionTime: (opts.readyAt ?? '2026-01-01T00:00:01Z') as unknown as Date }],
      containerStatuses: (opts.ready ?? [true]).map((r, i) => ({ name: `c${i}`, ready: r, image: 'x', imageID: '', restartCount: 0 })),
    },
  };
}

test('a pod is an engine when every container is ready, it has an address and no deletionTimestamp', () => {
  const cases: [V1Pod, string, string | null][] = [
    [pod('a', { ip: '10.0.0.1' }), 'ready', 'http://10.0.0.1:8000'],
    [pod('b', { ip: '10.0.0.1', ready: [true, false] }), 'not-ready', 'http://10.0.0.1:8000'],
    [pod('c', { ip: '10.0.0.1', ready: [] }), 'not-ready', 'http://10.0.0.1:8000'],
    [pod('d', { ip: '10.0.0.1', deleting: true }), 'terminating', 'http://10.0.0.1:8000'],
    [pod('e', {}), 'no-address', null],
    [pod('f', { ip: 'fd00::5' }), 'ready', 'http://[fd00::5]:8000'],
  ];
  for (const [p, condition, url] of cases) {
    const v = podEngine(p, 8000);
    assert.equal(v.condition, condition, p.metadata?.name);
    assert.equal(v.url, url, p.metadata?.name);
  }
  // From a watch the times are strings; from a list, Dates: both read the same.
  const watched = JSON.parse(JSON.stringify(pod('g', { ip: '10.0.0.2', model: 'opt' }))) as V1Pod;
  assert.deepEqual(podEngine(watched, 80), { name: 'g', namespace: 'ns', url: 'http://10.0.0.2:80', condition: 'ready', readySince: '2026-01-01T00:00:01.000Z', label: 'opt' });
  const eps = (addresses: number): V1Endpoints => ({ metadata: { name: 'svc', namespace: 'ns' }, subsets: [{ addresses: Array.from({ length: addresses }, () => ({ ip: '10.0.0.3' })), notReadyAddresses: [{ ip: '10.0.0.4' }] }] });
  assert.equal(serviceEngine(eps(1), 8000).condition, 'ready');
  assert.equal(serviceEngine(eps(0), 8000).condition, 'not-ready');
  assert.equal(serviceEngine(eps(1), 8000).url, 'http://svc:8000');
});

test('a model list: ids, without duplicates; no models or no list is an error', () => {
  assert.deepEqual(modelIds({ object: 'list', data: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] }), ['a', 'b']);
  assert.throws(() => modelIds({ data: [] }), /lists no model/);
  assert.throws(() => modelIds({ error: 'x' }), /not a model list/);
});

interface Harness {
  tracker: EngineTracker;
  sets: string[];
  logs: string[];
  fetches: { url: string; resolve: (m: string[]) => void; reject: (e: Error) => void }[];
  timers: { ms: number; fn: () => void; cancelled: boolean }[];
  last(): DiscoveredEngine[];
}

function harness(): Harness {
  const h: Harness = {
    sets: [], logs: [], fetches: [], timers: [],
    tracker: undefined as unknown as EngineTracker,
    last: () => [],
  };
  let last: DiscoveredEngine[] = [];
  h.last = () => last;
  h.tracker = new EngineTracker({
    kind: 'pod',
    fetchModels: (url) => new Promise((resolve, reject) => h.fetches.push({ url, resolve, reject })),
    apply: (engines) => {
      last = engines;
      h.sets.push(engines.map((e) => `${e.name}:${e.models.join('+')}`).join(',') || '(none)');
    },
    log: (level, message) => h.logs.push(`${level} ${message}`),
    now: () => Date.parse('2026-01-01T00:00:05Z'),
    after: (ms, fn) => {
      const t = { ms, fn, cancelled: false };
      h.timers.push(t);
      return () => { t.cancelled = true; };
    },
    retryMinMs: 250,
    retryMaxMs: 1000,
  });
  return h;
}

const view = (name: string, condition: EngineView['condition'], ip = '10.0.0.1'): EngineView => ({ name, namespace: 'ns', url: condition === 'no-address' ? null : `http://${ip}:8000`, condition, readySince: condition === 'ready' ? '2026-01-01T00:00:01.000Z' : null, label: null });
const tick = () => new Promise((r) => setImmediate(r));

test('added → ready → unready → ready → terminating → deleted: the set changes on each event, each change logged once', async () => {
  const h = harness();
  h.tracker.observe(view('a', 'no-address'));
  h.tracker.observe(view('a', 'not-ready'));
  h.tracker.observe(view('a', 'not-ready'));
  assert.deepEqual(h.sets, []);
  h.tracker.observe(view('a', 'ready'));
  h.tracker.observe(view('a', 'ready'));
  assert.equal(h.fetches.length, 1, 'one fetch per ready transition, not per event');
  assert.deepEqual(h.sets, [], 'not in rotation before its models are known');
  h.fetches[0]?.resolve(['opt']);
  await tick();
  assert.deepEqual(h.sets, ['a:opt']);
  assert.deepEqual(h.last()[0], { url: 'http://10.0.0.1:8000', models: ['opt'], label: 'default', name: 'a', namespace: 'ns', readySince: '2026-01-01T00:00:01.000Z' });
  h.tracker.observe(view('a', 'not-ready'));
  assert.deepEqual(h.sets, ['a:opt', '(none)'], 'out synchronously with the event');
  h.tracker.observe(view('a', 'ready'));
  h.fetches[1]?.resolve(['opt']);
  await tick();
  h.tracker.observe(view('a', 'terminating'));
  h.tracker.observe(view('a', 'terminating'));
  h.tracker.forget('a');
  h.tracker.forget('a');
  assert.deepEqual(h.sets, ['a:opt', '(none)', 'a:opt', '(none)']);
  assert.deepEqual(h.logs, [
    'info engine pod ns/a found, has no address yet',
    'info engine pod ns/a not ready',
    'info engine pod ns/a ready at http://10.0.0.1:8000 serving opt: in rotation',
    'info engine pod ns/a not ready: out of rotation',
    'info engine pod ns/a ready at http://10.0.0.1:8000 serving opt: in rotation',
    'info engine pod ns/a terminating: out of rotation',
    'info engine pod ns/a deleted',
  ]);
});

test('/v1/models failing: retried with doubling back-off, one warning, in rotation once it answers', async () => {
  const h = harness();
  h.tracker.observe(view('a', 'ready'));
  for (let i = 0; i < 4; i++) {
    h.fetches[i]?.reject(new Error('ECONNREFUSED'));
    await tick();
    const t = h.timers[i];
    assert.ok(t, `retry ${i + 1} scheduled`);
    h.tracker.observe(view('a', 'ready'));
    assert.equal(h.fetches.length, i + 1, 'a MODIFIED event while retrying starts no second fetch');
    t.fn();
  }
  assert.deepEqual(h.timers.map((t) => t.ms), [250, 500, 1000, 1000]);
  h.fetches[4]?.resolve(['opt']);
  await tick();
  assert.deepEqual(h.sets, ['a:opt']);
  assert.deepEqual(h.logs.filter((l) => l.startsWith('warn')), ['warn engine pod ns/a is ready but GET http://10.0.0.1:8000/v1/models failed (ECONNREFUSED): not in rotation, retrying with back-off']);
  assert.match(h.logs.at(-1) ?? '', /in rotation \(after 4 failed \/v1\/models\)$/);
});

test('an engine that turns unready or is deleted while its models are being fetched never enters', async () => {
  const h = harness();
  h.tracker.observe(view('a', 'ready'));
  h.tracker.observe(view('a', 'not-ready'));
  h.fetches[0]?.resolve(['opt']);
  h.tracker.observe(view('b', 'ready', '10.0.0.2'));
  h.fetches[1]?.reject(new Error('refused'));
  await tick();
  h.tracker.forget('b');
  h.timers[0]?.fn();
  await tick();
  assert.deepEqual(h.sets, []);
  assert.equal(h.timers[0]?.cancelled, true);
  assert.equal(h.fetches.length, 2);
});

test('two engines: each leaves on its own event, the other stays; stop() ends pending retries', async () => {
  const h = harness();
  h.tracker.observe(view('a', 'ready', '10.0.0.3'));
  h.tracker.observe(view('b', 'ready', '10.0.0.2'));
  h.fetches[0]?.resolve(['m']);
  h.fetches[1]?.resolve(['m']);
  await tick();
  assert.deepEqual(h.last().map((e) => e.name), ['b', 'a'], 'sorted by URL');
  h.tracker.observe(view('b', 'terminating', '10.0.0.2'));
  assert.deepEqual(h.last().map((e) => e.name), ['a']);
  assert.deepEqual(h.tracker.states().map((s) => `${s.name} ${s.condition} ${s.in_rotation}`), ['a ready true', 'b terminating false']);
  h.tracker.observe(view('c', 'ready', '10.0.0.4'));
  h.fetches[2]?.reject(new Error('x'));
  await tick();
  h.tracker.stop();
  assert.equal(h.timers[0]?.cancelled, true);
});
