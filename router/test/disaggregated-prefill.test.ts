import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import OpenAI from 'openai';
import { startEngineSim, type RunningSim } from '../../engine-sim/src/index.js';
import { startRouter, type RunningRouter } from '../src/index.js';
import { decodeBody, hostOf, legOf, prefillBody } from '../src/routing/disaggregated-prefill.js';
import { answer500, fakeEngine } from './support/fake-engine.js';

const MODEL = 'facebook/opt-125m';
const LABELS = { prefill: ['opt-prefill'], decode: ['opt-decode'] };

test('the prefill leg asks for one token, unstreamed; the decode leg gets the request as sent, or with the prefill\'s kv_transfer_params', () => {
  const body = { model: MODEL, prompt: 'hi', max_tokens: 50, max_completion_tokens: 50, stream: true, stream_options: { include_usage: true } };
  assert.deepEqual(prefillBody(body, 'disaggregated_prefill'), { model: MODEL, prompt: 'hi', max_tokens: 1, stream: false });
  assert.deepEqual(prefillBody(body, 'disaggregated_prefill_orchestrated').kv_transfer_params,
    { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null });
  assert.equal(decodeBody(body, 'disaggregated_prefill', null, 'http://10.0.0.5:8000'), body);
  const answer = { kv_transfer_params: { do_remote_prefill: true, remote_port: 5600, remote_host: null, remote_block_ids: [0, 1] } };
  assert.deepEqual(decodeBody(body, 'disaggregated_prefill_orchestrated', answer, 'http://10.0.0.5:8000')?.kv_transfer_params,
    { do_remote_prefill: true, remote_port: 5600, remote_host: '10.0.0.5', remote_block_ids: [0, 1] });
  assert.equal(decodeBody(body, 'disaggregated_prefill_orchestrated', { choices: [] }, 'http://a:1'), null);
  assert.equal(hostOf('http://[::1]:8000'), '::1');
  assert.equal(legOf('opt-prefill', LABELS), 'prefill');
  assert.equal(legOf('opt-decode', LABELS), 'decode');
  assert.equal(legOf('default', LABELS), null);
});

async function counter(sim: RunningSim, name: string): Promise<number> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

interface Stack {
  prefill: RunningSim[];
  decode: RunningSim[];
  router: RunningRouter;
}

/** Two prefill and two decode engines; push mode: each producer pushes to every decode engine (they are all its NIXL peers). */
async function stack(t: TestContext, logic: 'disaggregated_prefill' | 'disaggregated_prefill_orchestrated', extra: { decode?: string[] } = {}): Promise<Stack> {
  const orchestrated = logic === 'disaggregated_prefill_orchestrated';
  const decode = await Promise.all([0, 1].map((i) => startEngineSim({ timeScale: 0.01, instanceId: `decode-${i}`, kvRole: 'consumer', kvPort: orchestrated ? null : 0 })));
  const peers = orchestrated ? [] : decode.map((d) => ({ host: '127.0.0.1', port: d.server.engine.pd?.port as number }));
  const prefill = await Promise.all([0, 1].map((i) => startEngineSim({ timeScale: 0.01, instanceId: `prefill-${i}`, kvRole: 'producer', kvPeers: peers, kvPort: orchestrated ? 0 : null })));
  for (const s of [...decode, ...prefill]) t.after(() => s.close());
  const backends = [...prefill.map((s) => s.url), ...decode.map((s) => s.url), ...(extra.decode ?? [])];
  const labels = [...prefill.map(() => 'opt-prefill'), ...decode.map(() => 'opt-decode'), ...(extra.decode ?? []).map(() => 'opt-decode')];
  const router = await startRouter(['--static-backends', backends.join(','), '--static-models', backends.map(() => MODEL).join(','), '--static-model-labels', labels.join(','),
    '--routing-logic', logic, '--prefill-model-labels', 'opt-prefill', '--decode-model-labels', 'opt-decode', '--log-level', 'warn']);
  t.after(() => router.close());
  return { prefill, decode, router };
}

for (const logic of ['disaggregated_prefill', 'disaggregated_prefill_orchestrated'] as const) {
  test(`${logic}: every request is prefilled on a prefill engine and decoded on a decode engine, both pools shared, streams relayed`, async (t) => {
    const { prefill, decode, router } = await stack(t, logic);
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const prompts = Array.from({ length: 8 }, (_, i) => `request ${i}: ${'a long shared context '.repeat(10)}`);
    await Promise.all(prompts.map(async (prompt, i) => {
      if (i % 2 === 0) {
        const r = await client.completions.create({ model: MODEL, prompt, max_tokens: 6, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
        assert.equal(r.usage?.completion_tokens, 6, 'the answer is the decode engine\'s, not the one-token prefill');
      } else {
        const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: prompt }], max_tokens: 6, stream: true, stream_options: { include_usage: true }, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsStreaming);
        let text = '';
        let tokens = 0;
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta?.content ?? '';
          tokens = chunk.usage?.completion_tokens ?? tokens;
        }
        assert.equal(tokens, 6);
        assert.ok(text.length > 0);
      }
    }));
    for (const p of prefill) {
      const only = await counter(p, 'engine_sim:pd_prefill_only_requests_total');
      assert.ok(only >= 1, `prefill engine ${p.instanceId} took its share (${only})`);
      assert.equal(await counter(p, 'vllm:generation_tokens_total'), only, 'a prefill engine produces one token per request');
    }
    let decoded = 0;
    for (const d of decode) {
      const withKv = await counter(d, 'engine_sim:pd_decodes_with_transferred_kv_total');
      assert.ok(withKv >= 1, `decode engine ${d.instanceId} took its share`);
      assert.equal(await counter(d, 'engine_sim:pd_recomputed_requests_total'), 0, 'the KV arrived: nothing recomputed');
      decoded += withKv;
    }
    assert.equal(decoded, prompts.length);
  });
}

test('the answer names its prefill and decode engines', async (t) => {
  const { prefill, decode, router } = await stack(t, 'disaggregated_prefill');
  const res = await fetch(`${router.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'hello there', max_tokens: 3 }) });
  assert.equal(res.status, 200);
  assert.ok(prefill.some((p) => p.url === res.headers.get('x-router-prefill-engine')));
  assert.ok(decode.some((d) => d.url === res.headers.get('x-router-engine')));
});

test('a failing leg is an OpenAI-shaped error naming the leg; an empty pool is 503', async (t) => {
  const broken = await fakeEngine(t, answer500);
  const sim = await startEngineSim({ timeScale: 0, kvRole: 'consumer' });
  t.after(() => sim.close());
  const start = async (backends: string[], labels: string[]) => {
    const r = await startRouter(['--static-backends', backends.join(','), '--static-models', backends.map(() => MODEL).join(','), '--static-model-labels', labels.join(','),
      '--routing-logic', 'disaggregated_prefill', '--prefill-model-labels', 'p', '--decode-model-labels', 'd', '--log-level', 'critical']);
    t.after(() => r.close());
    return r;
  };
  const ask = async (r: RunningRouter) => {
    const res = await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 2 }) });
    return { status: res.status, body: (await res.json()) as { error: { message: string; type: string } } };
  };
  // The fake engine's /v1/models is empty: the static model list makes it serve MODEL anyway.
  const prefillFails = await ask(await start([broken.url, sim.url], ['p', 'd']));
  assert.equal(prefillFails.status, 500);
  assert.equal(prefillFails.body.error.type, 'prefill_failed');
  assert.match(prefillFails.body.error.message, /^prefill leg: engine http:\/\/127\.0\.0\.1:\d+ answered 500: boom$/);
  const producer = await startEngineSim({ timeScale: 0, kvRole: 'producer' });
  t.after(() => producer.close());
  const decodeFails = await ask(await start([producer.url, broken.url], ['p', 'd']));
  assert.equal(decodeFails.status, 500, 'the decode engine\'s answer is relayed as it came');
  const gone = await startEngineSim({ timeScale: 0 });
  const goneUrl = gone.url;
  await gone.close();
  const unreachable = await ask(await start([producer.url, goneUrl], ['p', 'd']));
  assert.equal(unreachable.status, 502);
  assert.match(unreachable.body.error.message, /^decode leg: no engine could be reached/);
  const noDecode = await ask(await start([producer.url], ['p']));
  assert.equal(noDecode.status, 503);
  assert.match(noDecode.body.error.message, /^decode leg: no decode engine serving facebook\/opt-125m is available now \(engines labelled d by --decode-model-labels\)/);
  const noPrefill = await ask(await start([sim.url], ['d']));
  assert.equal(noPrefill.status, 503);
  assert.match(noPrefill.body.error.message, /^prefill leg: no prefill engine/);
});

test('a prefill answer larger than a one-token answer can be is cut at its bound: 502 naming the prefill leg', async (t) => {
  const { MAX_PREFILL_ANSWER_BYTES } = await import('../src/forward/disaggregated-request.js');
  const huge = await fakeEngine(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"pad":"${'x'.repeat(MAX_PREFILL_ANSWER_BYTES + 10)}"}`);
  });
  const decode = await startEngineSim({ timeScale: 0, kvRole: 'consumer' });
  t.after(() => decode.close());
  const r = await startRouter(['--static-backends', `${huge.url},${decode.url}`, '--static-models', `${MODEL},${MODEL}`, '--static-model-labels', 'p,d',
    '--routing-logic', 'disaggregated_prefill', '--prefill-model-labels', 'p', '--decode-model-labels', 'd', '--log-level', 'critical']);
  t.after(() => r.close());
  const res = await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 2 }) });
  assert.equal(res.status, 502);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /^prefill leg: engine http:\/\/127\.0\.0\.1:\d+ failed: its answer exceeds 1048576 bytes/);
});
