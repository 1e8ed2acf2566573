import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import OpenAI from 'openai';
import { $, which } from 'zx';
import { ENGINE_SIM_MAIN, startChildServer } from '../../test/support/child-server.js';
import { clientErrorAnswer } from '../src/server.js';
import { startEngineSim, type RunningSim } from '../src/index.js';
import { chunkedPost, completion, RawClient } from '../../test/support/raw-http.js';
import { until } from '../../test/support/loopback.js';

const MODEL = 'facebook/opt-125m';
const LONG = Array.from({ length: 60 }, (_, i) => `sentence ${i} about caching prefixes in a large language model server.`).join(' ');

async function post(sim: RunningSim, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

async function streamTtft(client: OpenAI, prompt: string): Promise<{ ttft: number; cached: number }> {
  const start = performance.now();
  let ttft = -1;
  let cached = -1;
  const stream = await client.completions.create({ model: MODEL, prompt, max_tokens: 2, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    if (ttft < 0 && chunk.choices[0]?.text) ttft = performance.now() - start;
    if (chunk.usage) cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
  }
  return { ttft, cached };
}

test('the official openai client parses chat and completions, streaming and not', async (t) => {
  const sim = await startEngineSim({ timeScale: 0 });
  t.after(() => sim.close());
  const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused' });
  const chat = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0]?.message.role, 'assistant');
  assert.ok(chat.usage && chat.usage.completion_tokens <= 5 && chat.usage.prompt_tokens > 0);

  const chunks = [];
  const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, stream: true, stream_options: { include_usage: true }, ignore_eos: true } as any);
  for await (const c of stream as any) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'first chunk carries the role');
  const content = chunks.filter((c) => c.choices[0]?.delta?.content).map((c) => c.choices[0].delta.content);
  assert.equal(content.length, 4, 'one chunk per token with ignore_eos');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, [], 'the usage chunk comes last with no choices');
  assert.equal(last.usage.completion_tokens, 4);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');

  const comp = await client.completions.create({ model: MODEL, prompt: 'once upon', max_tokens: 3 });
  assert.equal(comp.object, 'text_completion');
  assert.equal(typeof comp.choices[0]?.text, 'string');
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  assert.equal((models.data[0] as any).max_model_len, 2048);
});

test('a repeated long prompt reports cached tokens and gets its first token sooner', async (t) => {
  const sim = await startEngineSim({ prefillTimePerToken: 0.5, prefillOverhead: 1, interTokenLatency: 1 });
  t.after(() => sim.close());
  const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused' });
  const cold = await streamTtft(client, LONG);
  const warm = await streamTtft(client, LONG);
  assert.equal(cold.cached, 0);
  assert.ok(warm.cached >= 512, `cached_tokens ${warm.cached}`);
  assert.ok(warm.ttft < cold.ttft / 2, `warm TTFT ${warm.ttft.toFixed(1)} ms vs cold ${cold.ttft.toFixed(1)} ms`);
  const exact = Array.from({ length: 32 }, (_, i) => `w${i}`).join(' ');
  assert.equal((await post(sim, '/tokenize', { prompt: exact })).json.count, 32);
  await streamTtft(client, exact);
  assert.equal((await streamTtft(client, exact)).cached, 16, 'as vLLM, the last block of a fully cached prompt is recomputed');
  const off = await startEngineSim({ prefixCaching: false, timeScale: 0 });
  t.after(() => off.close());
  const offClient = new OpenAI({ baseURL: `${off.url}/v1`, apiKey: 'unused' });
  await streamTtft(offClient, LONG);
  assert.equal((await streamTtft(offClient, LONG)).cached, 0, '--no-prefix-caching never hits');
});

test('the offload tier turns a GPU-tier miss into a faster hit', async () => {
  const other = LONG.replace(/sentence/g, 'phrase');
  const run = async (offloadBlocks: number) => {
    const sim = await startEngineSim({ kvBlocks: 48, offloadBlocks, prefillTimePerToken: 0.5, offloadTimePerToken: 0.02, prefillOverhead: 1 });
    try {
      const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused' });
      await streamTtft(client, LONG);
      await streamTtft(client, other); // evicts LONG's blocks from the 48-block GPU tier
      return await streamTtft(client, LONG);
    } finally {
      await sim.close();
    }
  };
  const without = await run(0);
  const withOffload = await run(1000);
  assert.equal(without.cached, 0, 'evicted and gone without an offload tier');
  assert.ok(withOffload.cached > 0, 'found in the offload tier');
  assert.ok(withOffload.ttft < without.ttft / 2, `offload hit ${withOffload.ttft.toFixed(1)} ms vs recompute ${without.ttft.toFixed(1)} ms`);
});

test('beyond max-num-seqs requests wait, as the running and waiting gauges show, and beyond the queue get 429', async (t) => {
  // Tokens slow enough that the five stay in place however loaded the machine, sped up once seen.
  const sim = await startEngineSim({ maxNumSeqs: 2, maxWaiting: 3, interTokenLatency: 500, prefillOverhead: 0 });
  t.after(() => sim.close());
  const body = { model: MODEL, prompt: 'x', max_tokens: 5, ignore_eos: true };
  const inflight = Array.from({ length: 5 }, () => post(sim, '/v1/completions', body));
  const gauge = (text: string, name: string) => Number(new RegExp(`^vllm:${name}\\{model_name="facebook/opt-125m"\\} (\\S+)$`, 'm').exec(text)?.[1]);
  let metrics = '';
  await until('the five requests to arrive', async () => {
    metrics = await (await fetch(`${sim.url}/metrics`)).text();
    return gauge(metrics, 'num_requests_running') + gauge(metrics, 'num_requests_waiting') === 5;
  });
  assert.equal(gauge(metrics, 'num_requests_running'), 2);
  assert.equal(gauge(metrics, 'num_requests_waiting'), 3);
  const refused = await post(sim, '/v1/completions', body);
  assert.equal(refused.status, 429);
  assert.equal((await post(sim, '/admin/config', { interTokenLatency: 0 })).status, 200);
  assert.equal((await Promise.all(inflight)).every((r) => r.status === 200), true);
});

test('metrics agree with what was sent', async (t) => {
  const sim = await startEngineSim({ timeScale: 0 });
  t.after(() => sim.close());
  let prompt = 0;
  let generated = 0;
  for (let i = 0; i < 5; i++) {
    const r = await post(sim, '/v1/completions', { model: MODEL, prompt: `request number ${i} with some words`, max_tokens: 7, ignore_eos: true });
    prompt += r.json.usage.prompt_tokens;
    generated += r.json.usage.completion_tokens;
  }
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(value('vllm:prompt_tokens_total'), prompt);
  assert.equal(value('vllm:generation_tokens_total'), generated);
  assert.equal(value('vllm:request_success_total'), 5);
  assert.equal(value('vllm:time_to_first_token_seconds_count'), 5);
  assert.match(text, /vllm:cache_config_info\{block_size="16",num_gpu_blocks="4096"/);
});

test('promtool finds nothing wrong with /metrics but the colons of vLLM\'s names', async (t) => {
  if (!(await which('promtool', { nothrow: true }))) return t.skip('promtool is not installed (make deps installs prometheus)');
  const sim = await startEngineSim({ timeScale: 0 });
  t.after(() => sim.close());
  await post(sim, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 });
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const out = await $({ input: text, nothrow: true, quiet: true })`promtool check metrics`;
  const problems = (out.stdout + out.stderr).split('\n').filter((l) => l.trim() && !l.includes("should not contain ':'"));
  assert.deepEqual(problems, []);
});

test('malformed and invalid requests get 4xx in the OpenAI error shape, and the engine stays up', async (t) => {
  const sim = await startEngineSim({ timeScale: 0, maxBodySize: 2048, maxModelLen: 64, apiKey: 'sk-test' });
  t.after(() => sim.close());
  const auth = { authorization: 'Bearer sk-test' };
  const cases: [string, unknown, number, Record<string, string>?][] = [
    ['/v1/completions', '{not json', 400, auth],
    ['/v1/completions', '"a string"', 400, auth],
    ['/v1/completions', { model: MODEL }, 400, auth],
    ['/v1/completions', { model: 'other', prompt: 'x' }, 404, auth],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1000 }, 400, auth],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: { nested: true } }] }, 400, auth],
    ['/v1/chat/completions', { model: MODEL, messages: null }, 400, auth],
    ['/v1/completions', { model: MODEL, prompt: 'x'.repeat(4000) }, 413, auth],
    ['/v1/completions', { model: MODEL, prompt: 'x' }, 401, {}],
    ['/v1/completions', { model: MODEL, prompt: 'x' }, 401, { authorization: 'Bearer wrong' }],
    ['/v1/nope', {}, 404, auth],
  ];
  for (const [path, body, status, headers] of cases) {
    const r = await post(sim, path, body, headers);
    assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 60)}`);
    assert.equal(typeof r.json.error.message, 'string');
    assert.equal(r.json.error.code, status);
  }
  // A chunked body (no Content-Length) over the limit gets the 413 too, not a dropped connection.
  const body = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(JSON.stringify({ model: MODEL, prompt: 'y'.repeat(5000) }))); c.close(); } });
  const chunked = await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal((await post(sim, '/admin/config', { failureRate: 1 })).status, 401, 'the admin endpoint needs the key too');
  const context = await post(sim, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1000 }, auth);
  assert.match(context.json.error.message, /maximum context length is 64 tokens/);
  assert.equal((await fetch(`${sim.url}/v1/models`, { method: 'DELETE', headers: auth })).status, 405);
  await new Promise<void>((resolve) => {
    const socket = connect(sim.port, '127.0.0.1', () => socket.end('GARBAGE / HTTP/9\r\n\r\n'));
    socket.resume(); // read the 400 so that 'close' can come
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  assert.equal((await fetch(`${sim.url}/health`)).status, 200, 'still up');
  const ok = await post(sim, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 }, { ...auth, 'x-request-id': 'abc' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('x-request-id'), 'abc');
  assert.equal(ok.headers.get('x-engine-instance-id'), `sim-${sim.port}`);
});

test('failures injected at run time through the admin endpoint, and rejected settings name the field', async (t) => {
  const sim = await startEngineSim({ timeScale: 0 });
  t.after(() => sim.close());
  assert.equal((await post(sim, '/admin/config', { failureRate: 1, failureKinds: ['503'] })).status, 200);
  assert.equal((await post(sim, '/v1/completions', { model: MODEL, prompt: 'x' })).status, 503);
  const bad = await post(sim, '/admin/config', { failureRate: 2 });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.param, 'failureRate');
  await post(sim, '/admin/config', { failureRate: 0 });
  assert.equal((await post(sim, '/v1/completions', { model: MODEL, prompt: 'x' })).status, 200);
  await post(sim, '/admin/config', { failureRate: 1, failureKinds: ['reset'] });
  await assert.rejects(fetch(`${sim.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'x' }) }));
  // A stream is cut mid-way: the client has its first token, then the connection resets, never [DONE].
  for (const maxTokens of [8, 1]) {
    const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: maxTokens, ignore_eos: true, stream: true }) });
    const reader = res.body!.getReader();
    let text = '';
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    }, `a ${maxTokens}-token stream resets`);
    assert.match(text, /^data: /, 'the stream had started');
    assert.doesNotMatch(text, /\[DONE\]/);
  }
  assert.equal((await fetch(`${sim.url}/health`, { method: 'POST' })).status, 405);
});

test('SIGTERM lets an in-flight stream finish, then the process exits 0', async () => {
  const sim = await startChildServer(ENGINE_SIM_MAIN, ['--port', '0', '--inter-token-latency', '30']);
  const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 10, ignore_eos: true, stream: true }) });
  const reader = res.body!.getReader();
  let body = new TextDecoder().decode((await reader.read()).value);
  assert.match(body, /^data: /, 'the stream is in flight when SIGTERM comes');
  sim.child.kill('SIGTERM');
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) body += new TextDecoder().decode(chunk.value);
  assert.match(body, /data: \[DONE\]/);
  assert.equal(await sim.exited, 0);
});

test('a stream\'s headers come at once and its first chunk (a chat\'s role, then its first token) after the prefill, as vLLM\'s do', async (t) => {
  const sim = await startEngineSim({ timeScale: 1, prefillOverhead: 300, interTokenLatency: 1 });
  t.after(() => sim.close());
  const start = performance.now();
  const res = await fetch(`${sim.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 2, stream: true }),
  });
  const headersAt = performance.now() - start;
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  const firstAt = performance.now() - start;
  await reader.cancel();
  assert.ok(headersAt < 200, `headers after ${headersAt.toFixed(0)} ms, before the 300 ms prefill`);
  assert.ok(firstAt >= 250, `first chunk after ${firstAt.toFixed(0)} ms, once the prefill is done`);
  const events = first.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
  assert.equal(events[0].choices[0].delta.role, 'assistant');
  assert.ok(events[1]?.choices[0].delta.content, 'the first token comes with the role');
});

test('malformed HTTP: 431 for an oversized head, garbage after a stream leaves the stream whole, both in vLLM\'s error shape', async (t) => {
  const sim = await startEngineSim({ timeScale: 1, interTokenLatency: 20, prefillOverhead: 0 });
  t.after(() => sim.close());
  const port = Number(new URL(sim.url).port);
  const big = new RawClient(port);
  t.after(() => big.socket.destroy());
  big.send(`GET /health HTTP/1.1\r\nHost: sim\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
  const tooLarge = await big.answer();
  assert.equal(tooLarge.status, 431);
  assert.equal(JSON.parse(tooLarge.body).error.type, 'RequestHeaderFieldsTooLarge');

  const streaming = new RawClient(port);
  t.after(() => streaming.socket.destroy());
  streaming.send(chunkedPost(completion('stream', { max_tokens: 5, ignore_eos: true, stream: true })));
  await until('the stream\'s first token', () => streaming.unread().includes('data: '));
  streaming.send('not HTTP at all\r\n\r\n');
  const whole = await streaming.answer();
  assert.equal(whole.status, 200);
  assert.match(whole.body, /data: \[DONE\]\n\n$/);
  assert.ok(!whole.body.includes('HTTP/1.1'), 'no error answer written into the stream');
  await streaming.closedByServer();
});

test('what Node\'s parser refuses is answered as Node would, in vLLM\'s shape: 408 for a request timeout, 400 otherwise', () => {
  assert.match(clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', ''), /^HTTP\/1\.1 408 Request Timeout\r\n[^]*"type":"RequestTimeout"/);
  assert.match(clientErrorAnswer('HPE_HEADER_OVERFLOW', ''), /^HTTP\/1\.1 431 /);
  assert.match(clientErrorAnswer('HPE_INVALID_METHOD', 'Invalid method encountered'), /^HTTP\/1\.1 400 [^]*connection: close\r\n\r\n\{"error":\{"message":"malformed HTTP request: Invalid method encountered"/);
});
