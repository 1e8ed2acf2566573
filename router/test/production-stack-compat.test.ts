// What production-stack's tests and users rely on, over loopback: the
// engines' own model objects in /v1/models, the routes it serves, sleep mode
// by engine id, --root-path, the routing decision line its e2e test reads,
// and health checks that send a real request of the backend's model type.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startEngineSim, type RunningSim } from '../../engine-sim/src/index.js';
import { startRouter, type RunningRouter } from '../src/index.js';
import { answerOk, fakeEngine, until, type FakeEngine } from './support/fake-engine.js';

const MODEL = 'facebook/opt-125m';

async function sim(t: TestContext, options: Parameters<typeof startEngineSim>[0] = {}): Promise<RunningSim> {
  const s = await startEngineSim({ timeScale: 0, ...options });
  t.after(() => s.close());
  return s;
}

async function router(t: TestContext, backends: string[], models: string[], args: string[] = []): Promise<RunningRouter> {
  const r = await startRouter(['--static-backends', backends.join(','), '--static-models', models.join(','), '--log-level', 'warn', ...args]);
  t.after(() => r.close());
  return r;
}

const send = (r: RunningRouter, path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${r.url}${path}`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A fake engine that records each request's method, path and content type, and answers 200. */
async function recorder(t: TestContext): Promise<FakeEngine & { seen: string[] }> {
  const seen: string[] = [];
  const e = await fakeEngine(t, (req, res, body) => {
    const model = (req.headers['content-type'] ?? '').startsWith('multipart/') ? /name="model"\r\n\r\n([^\r]*)/.exec(body)?.[1] : (() => {
      try {
        return (JSON.parse(body) as { model?: string }).model;
      } catch {
        return undefined;
      }
    })();
    seen.push(`${req.method} ${req.url} ${model ?? '-'}`);
    answerOk(req, res, body);
  });
  return Object.assign(e, { seen });
}

test('/v1/models passes the engines\' own model objects through (root, parent, max_model_len, permission), one per id, aliases included', async (t) => {
  const a = await sim(t, { maxModelLen: 4096 });
  const a2 = await sim(t, { maxModelLen: 4096 });
  const other = await sim(t, { model: 'other-model', servedModelNames: ['other-model'], maxModelLen: 1024 });
  const r = await router(t, [a.url, a2.url, other.url], [MODEL, MODEL, 'other-model'], ['--static-aliases', 'opt:facebook/opt-125m']);
  type Card = { id: string; root: string; parent: null; max_model_len: number; permission: unknown[]; owned_by: string };
  const models = async () => ((await (await fetch(`${r.url}/v1/models`)).json()) as { object: string; data: Card[] });
  await until('the engines\' models to be read', async () => (await models()).data.every((m) => m.max_model_len !== undefined));
  const list = await models();
  assert.equal(list.object, 'list');
  assert.deepEqual(list.data.map((m) => [m.id, m.root, m.parent, m.max_model_len, Array.isArray(m.permission), m.owned_by]), [
    [MODEL, MODEL, null, 4096, true, 'vllm'],
    ['opt', MODEL, null, 4096, true, 'vllm'],
    ['other-model', 'other-model', null, 1024, true, 'vllm'],
  ]);
});

test('production-stack\'s other routes are proxied by the body\'s model (JSON or multipart form), GET /v1/audio/voices by ?model=', async (t) => {
  const e = await recorder(t);
  const r = await router(t, [e.url], ['whisper'], ['--static-aliases', 'w:whisper']);
  for (const path of ['/v1/responses', '/v1/rerank', '/rerank', '/v1/score', '/score', '/v1/messages', '/v1/audio/speech', '/v1/images/generations']) {
    assert.equal((await send(r, path, { model: 'whisper', input: 'x' })).status, 200, path);
  }
  const form = new FormData();
  form.set('model', 'w');
  form.set('file', new Blob([Buffer.from('RIFF')], { type: 'audio/wav' }), 'a.wav');
  assert.equal((await fetch(`${r.url}/v1/audio/transcriptions`, { method: 'POST', body: form })).status, 200);
  assert.equal((await fetch(`${r.url}/v1/audio/voices?model=whisper`)).status, 200);
  assert.deepEqual(e.seen, [
    'POST /v1/responses whisper', 'POST /v1/rerank whisper', 'POST /rerank whisper', 'POST /v1/score whisper', 'POST /score whisper',
    'POST /v1/messages whisper', 'POST /v1/audio/speech whisper', 'POST /v1/images/generations whisper',
    'POST /v1/audio/transcriptions whisper', 'GET /v1/audio/voices?model=whisper -',
  ], 'the alias in the form was rewritten to the model');
  const missing = await fetch(`${r.url}/v1/audio/voices`);
  assert.equal(missing.status, 400);
  assert.equal(((await missing.json()) as { error: { param: string } }).error.param, 'model');
});

test('sleep mode by engine id: /sleep takes an engine out of rotation, /wake_up puts it back, /is_sleeping asks it; ?id= pins a request', async (t) => {
  const [a, b] = [await recorder(t), await recorder(t)];
  const r = await router(t, [a.url, b.url], [MODEL, MODEL]);
  const engines = ((await (await fetch(`${r.url}/engines`)).json()) as { engines: { id: string; url: string; sleeping: boolean }[] }).engines;
  const idA = engines.find((e) => e.url === a.url)!.id;
  assert.equal((await send(r, '/sleep', '')).status, 400, 'no ?id=: which engine?');
  assert.equal((await fetch(`${r.url}/sleep?id=${idA}&level=1`, { method: 'POST' })).status, 200);
  assert.deepEqual(a.seen, ['POST /sleep?level=1 -'], 'the engine got the call, with its own parameters but not the router\'s id');
  for (let i = 0; i < 4; i++) await send(r, '/v1/completions', { model: MODEL, prompt: `${i}` });
  assert.equal(a.seen.length, 1, 'a sleeping engine gets no requests');
  assert.equal((await fetch(`${r.url}/is_sleeping?id=${idA}`)).status, 200);
  assert.equal((await fetch(`${r.url}/wake_up?id=${idA}`, { method: 'POST' })).status, 200);
  assert.equal((await send(r, `/v1/completions?id=${idA}`, { model: MODEL, prompt: 'pinned' })).headers.get('x-router-engine'), a.url);
  assert.deepEqual(a.seen.slice(1), ['GET /is_sleeping -', 'POST /wake_up -', `POST /v1/completions ${MODEL}`]);
  assert.equal((await fetch(`${r.url}/sleep?id=engine-99`, { method: 'POST' })).status, 400);
});

test('--root-path: every route is served under the prefix, and without it, as production-stack\'s app is', async (t) => {
  const e = await recorder(t);
  const r = await router(t, [e.url], [MODEL], ['--root-path', '/vllm']);
  assert.equal((await send(r, '/vllm/v1/completions', { model: MODEL, prompt: 'x' })).status, 200);
  assert.equal((await send(r, '/v1/completions', { model: MODEL, prompt: 'x' })).status, 200);
  assert.equal((await fetch(`${r.url}/vllm/health`)).status, 200);
  assert.deepEqual(e.seen, [`POST /v1/completions ${MODEL}`, `POST /v1/completions ${MODEL}`], 'the engine never sees the prefix');
});

for (const format of ['text', 'json'] as const) {
  test(`the routing decision is logged before the request is forwarded, as production-stack's e2e routing test reads it (${format})`, async (t) => {
    const lines: string[] = [];
    let linesAtArrival = -1;
    const e = await fakeEngine(t, (req, res, body) => {
      linesAtArrival = lines.length;
      answerOk(req, res, body);
    });
    const r = await router(t, [e.url], [MODEL], ['--log-level', 'info', '--log-format', format]);
    r.server.log.output = (l) => lines.push(l);
    await send(r, '/v1/completions', { model: MODEL, prompt: 'x' }, { 'x-request-id': 'req-7', 'x-user-id': 'alice' });
    assert.equal(linesAtArrival, 1, 'one line, the decision, before the engine got the request');
    const decision = format === 'json' ? (JSON.parse(lines[0]!) as { message: string; session_id: string; engine: string }) : null;
    const text = decision?.message ?? lines[0]!;
    const m = /Routing request ([^ ]*) with session id ([^ ]*) to ([^ ]*) at [\d.]+, process time = [\d.]+/.exec(text);
    assert.deepEqual(m?.slice(1), ['req-7', 'alice', e.url]);
    if (decision) assert.deepEqual([decision.session_id, decision.engine], ['alice', e.url]);
    assert.match(lines[1]!, /request/, 'the completion line follows');
  });
}

test('--static-backend-health-checks with --static-model-types sends a real request of that type: an engine that answers /health but cannot serve is taken out', async (t) => {
  const broken = await fakeEngine(t, (_req, res) => res.writeHead(500).end());
  const good = await fakeEngine(t, answerOk);
  const r = await router(t, [broken.url, good.url], [MODEL, MODEL], ['--static-backend-health-checks', '--static-model-types', 'completion,completion', '--static-backend-health-check-interval', '1']);
  const engines = async () => ((await (await fetch(`${r.url}/engines`)).json()) as { engines: { url: string; healthy: boolean; ejected: string | null }[] }).engines;
  await until('the broken engine to fail its check', async () => (await engines()).find((e) => e.url === broken.url)?.ejected === 'health-check', 4000);
  assert.equal((await engines()).find((e) => e.url === good.url)?.healthy, true);
  assert.ok(broken.received >= 1 && good.received >= 1, 'both got a completion request as their check');
});
