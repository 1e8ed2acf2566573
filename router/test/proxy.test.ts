// The router over loopback with real engine simulators: what a client sees
// (streaming, routing, errors, auth) and what an operator does (kill an
// engine, change the dynamic config, stop the router).
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import OpenAI from 'openai';
import { $, which } from 'zx';
import { startEngineSim, type RunningSim } from '../../engine-sim/src/index.js';
import { ENGINE_SIM_MAIN, ROUTER_MAIN, startChildServer, type ChildServer } from '../../test/support/child-server.js';
import { startRouter, type RunningRouter } from '../src/index.js';
import { chunkedPost, post as rawPost, RawClient } from '../../test/support/raw-http.js';

const MODEL = 'facebook/opt-125m';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Reply {
  status: number;
  json: any;
  headers: Headers;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}, path = '/v1/completions'): Promise<Reply> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // streamed or plain text: keep it as text
  }
  return { status: res.status, json, headers: res.headers };
}

async function sims(t: TestContext, n: number, options: Parameters<typeof startEngineSim>[0] = {}): Promise<RunningSim[]> {
  const started = await Promise.all(Array.from({ length: n }, (_, i) => startEngineSim({ timeScale: 0, instanceId: `engine-${i}`, ...options })));
  t.after(() => Promise.all(started.map((s) => s.close())));
  return started;
}

async function router(t: TestContext, backends: string[], args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningRouter> {
  const r = await startRouter(['--static-backends', backends.join(','), '--static-models', backends.map(() => MODEL).join(','), '--log-level', 'warn', ...args], env);
  t.after(() => r.close());
  return r;
}

async function children(t: TestContext, n: number, args: string[] = []): Promise<ChildServer[]> {
  const started = await Promise.all(Array.from({ length: n }, (_, i) => startChildServer(ENGINE_SIM_MAIN, ['--port', '0', '--instance-id', `engine-${i}`, ...args])));
  t.after(() => Promise.all(started.map((c) => c.stop())));
  return started;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const engines = async (url: string) => (await (await fetch(`${url}/engines`)).json()) as { routing_logic: string; engines: { url: string; healthy: boolean }[] };

test('streams are relayed chunk by chunk as the engine produces them, and the openai client parses them', async (t) => {
  const [sim] = await sims(t, 1, { timeScale: 1, interTokenLatency: 40, prefillOverhead: 0 });
  const r = await router(t, [sim!.url]);
  const client = new OpenAI({ baseURL: `${r.url}/v1`, apiKey: 'unused' });
  const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, stream: true, stream_options: { include_usage: true }, ignore_eos: true } as any);
  const arrivals: number[] = [];
  let usage: any = null;
  for await (const chunk of stream as any) {
    if (chunk.choices[0]?.delta?.content) arrivals.push(performance.now());
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(arrivals.length, 6);
  assert.equal(usage.completion_tokens, 6);
  // Tokens come 40 ms apart at the engine; a buffering proxy would deliver them together.
  assert.ok(arrivals.at(-1)! - arrivals[0]! > 120, `chunks spread over ${(arrivals.at(-1)! - arrivals[0]!).toFixed(0)} ms`);

  const direct = await post(r.url, { model: MODEL, prompt: 'x', max_tokens: 2 }, { 'x-request-id': 'req-1' });
  assert.equal(direct.status, 200);
  assert.equal(direct.headers.get('x-request-id'), 'req-1');
  assert.equal(direct.headers.get('x-router-engine'), sim!.url);
  assert.equal(direct.headers.get('x-router-attempts'), '1');
  assert.ok((await post(r.url, { model: MODEL, prompt: 'x' })).headers.get('x-request-id'), 'a request id is generated when the client sends none');
});

test('roundrobin alternates engines, session sticks to one, and /v1/models is the union without duplicates', async (t) => {
  const [a, b] = await sims(t, 2);
  const [other] = await sims(t, 1, { model: 'other-model', instanceId: 'other' });
  const rr = await startRouter(['--static-backends', [a!.url, b!.url, other!.url].join(','), '--static-models', `${MODEL},${MODEL},other-model`, '--log-level', 'warn']);
  t.after(() => rr.close());
  const served: string[] = [];
  for (let i = 0; i < 6; i++) served.push((await post(rr.url, { model: MODEL, prompt: `p${i}` })).headers.get('x-engine-instance-id')!);
  assert.deepEqual(served.filter((s) => s === 'engine-0').length, 3, served.join(' '));
  assert.deepEqual(served.filter((s) => s === 'engine-1').length, 3, served.join(' '));
  assert.equal((await post(rr.url, { model: 'other-model', prompt: 'x' })).headers.get('x-engine-instance-id'), 'other');
  const models = (await (await fetch(`${rr.url}/v1/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(models.data.map((m) => m.id), ['facebook/opt-125m', 'other-model']);

  const session = await router(t, [a!.url, b!.url], ['--routing-logic', 'session']);
  for (const user of ['alice', 'bob', 'carol', 'dave']) {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await post(session.url, { model: MODEL, prompt: `${i}` }, { 'x-user-id': user })).headers.get('x-engine-instance-id')!);
    assert.equal(seen.size, 1, `${user} stayed on one engine`);
  }
  assert.equal((await engines(session.url)).routing_logic, 'session');

  // A session id in the body, under a mixed-case field name.
  const bodyKeyed = await router(t, [a!.url, b!.url], ['--routing-logic', 'session', '--session-key', 'userId']);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await post(bodyKeyed.url, { model: MODEL, prompt: `${i}`, userId: 'erin' })).headers.get('x-engine-instance-id')!);
  assert.equal(seen.size, 1, 'the body field userId keyed the session');
});

test('time to first token is the first body byte: a stream\'s early headers do not count as its first token', async (t) => {
  // As vLLM behind uvicorn: the stream's headers go out at once, the first token after the prefill.
  const engine = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    setTimeout(() => res.end('data: {"choices":[{"text":"a"}]}\n\ndata: [DONE]\n\n'), 400);
  });
  await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => engine.close(() => resolve())));
  const r = await router(t, [`http://127.0.0.1:${(engine.address() as { port: number }).port}`]);
  const res = await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ model: MODEL, prompt: 'x', stream: true }) });
  await res.text();
  const seen = ((await (await fetch(`${r.url}/engines`)).json()) as { engines: { ttft_ms_avg: number }[] }).engines[0]!;
  assert.ok(seen.ttft_ms_avg >= 350, `TTFT ${seen.ttft_ms_avg} ms includes the engine's 400 ms before its first token`);
  const metrics = await (await fetch(`${r.url}/metrics`)).text();
  assert.match(metrics, /vllm:router_ttft_seconds_bucket\{le="0\.25",server="[^"]+"\} 0/);
});

test('prefixaware sends a conversation back to the engine that cached it, which reports the cached tokens', async (t) => {
  const [a, b] = await sims(t, 2);
  const r = await router(t, [a!.url, b!.url], ['--routing-logic', 'prefixaware']);
  const system = 'You are a helpful assistant who answers questions about the production stack. '.repeat(20);
  const first = await post(r.url, { model: MODEL, messages: [{ role: 'system', content: system }, { role: 'user', content: 'first question' }] }, {}, '/v1/chat/completions');
  const second = await post(r.url, { model: MODEL, messages: [{ role: 'system', content: system }, { role: 'user', content: 'second question' }] }, {}, '/v1/chat/completions');
  assert.equal(second.headers.get('x-engine-instance-id'), first.headers.get('x-engine-instance-id'));
  assert.ok(second.json.usage.prompt_tokens_details.cached_tokens > 0);
});

test('every error is OpenAI-shaped with the documented status, and the router stays up', async (t) => {
  const [sim] = await sims(t, 1);
  const r = await router(t, [sim!.url], ['--max-body-size', '2000', '--static-aliases', 'opt:facebook/opt-125m']);
  const cases: [unknown, number, string][] = [
    ['{not json', 400, 'malformed JSON'],
    ['[1,2]', 400, 'not an object'],
    [{ prompt: 'x' }, 400, 'missing model'],
    [{ model: 'nobody-serves-this', prompt: 'x' }, 404, 'unknown model'],
    [{ model: MODEL, prompt: 'x'.repeat(3000) }, 413, 'body over --max-body-size'],
  ];
  for (const [body, status, why] of cases) {
    const reply = await post(r.url, body);
    assert.equal(reply.status, status, why);
    assert.equal(reply.json.error.code, status, why);
    assert.equal(typeof reply.json.error.message, 'string', why);
    assert.ok(reply.headers.get('x-request-id'), `${why}: the error carries a request id`);
  }
  assert.equal((await post(r.url, '{', { 'x-request-id': 'mine' })).headers.get('x-request-id'), 'mine');
  assert.equal((await post(r.url, { model: 'opt', prompt: 'x' })).status, 200, 'an alias reaches the model');
  assert.equal((await fetch(`${r.url}/v1/completions`)).status, 405);
  assert.equal((await fetch(`${r.url}/nowhere`)).status, 404);

  r.server.applyConfig({ backends: null, aliases: null, routingLogic: 'session', sessionKey: null, prefixMinMatchLength: null });
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' })).status, 200, 'a config without backends keeps them');
  r.server.applyConfig({ backends: [], aliases: null, routingLogic: null, sessionKey: null, prefixMinMatchLength: null });
  const gone = await post(r.url, { model: MODEL, prompt: 'x' });
  assert.equal(gone.status, 503, 'a model seen before with no engine now is unavailable, not unknown');
  assert.equal((await fetch(`${r.url}/health`)).status, 200);
});

test('429 with Retry-After over --max-concurrency, 504 past --request-timeout, 502 when no engine can be reached', async (t) => {
  const [slow] = await sims(t, 1, { timeScale: 1, prefillOverhead: 1500, interTokenLatency: 1 });
  const limited = await router(t, [slow!.url], ['--max-concurrency', '1', '--request-timeout', '1']);
  const first = post(limited.url, { model: MODEL, prompt: 'x', max_tokens: 1 });
  await until('the first request at the engine', async () => /^vllm:num_requests_running\{[^}]*\} 1$/m.test(await (await fetch(`${slow!.url}/metrics`)).text()));
  const refused = await post(limited.url, { model: MODEL, prompt: 'x' });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  const timedOut = await first;
  assert.equal(timedOut.status, 504, 'the engine took 1.5 s to answer, over --request-timeout 1');
  assert.match(timedOut.json.error.message, /request-timeout/);

  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dead = await router(t, [`http://127.0.0.1:${port}`]);
  const unreachable = await post(dead.url, { model: MODEL, prompt: 'x' });
  assert.equal(unreachable.status, 502);
  assert.match(unreachable.json.error.message, /no engine could be reached/);
});

test('a client that drops its upload halfway gives its --max-concurrency slot back', async (t) => {
  const [engine] = await sims(t, 1);
  const limited = await router(t, [engine!.url], ['--max-concurrency', '2']);
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const s = connect(limited.port, '127.0.0.1', () => {
        s.write('POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":');
        setTimeout(() => s.destroy(), 50);
      });
      s.on('close', () => resolve());
    });
  }
  await until('the dropped uploads to be let go', async () => (await post(limited.url, { model: MODEL, prompt: 'x', max_tokens: 1 })).status === 200);
});

test('clients need the router key; the engines get theirs, never the client\'s', async (t) => {
  const [sim] = await sims(t, 1, { apiKey: 'engine-key' });
  const r = await router(t, [sim!.url], ['--api-key', 'client-key'], { VLLM_API_KEY: 'engine-key' });
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' })).status, 401);
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' }, { authorization: 'Bearer wrong-key!' })).status, 401);
  assert.equal((await fetch(`${r.url}/v1/models`)).status, 401);
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' }, { authorization: 'Bearer client-key' })).status, 200);
  const fromEnv = await router(t, [sim!.url], [], { VLLM_ROUTER_API_KEY: 'env-key', VLLM_API_KEY: 'engine-key' });
  assert.equal((await post(fromEnv.url, { model: MODEL, prompt: 'x' }, { authorization: 'Bearer env-key' })).status, 200);
});

test('a client that disconnects mid-stream cancels the engine\'s request', async (t) => {
  const [sim] = await sims(t, 1, { timeScale: 1, interTokenLatency: 20, prefillOverhead: 0 });
  const r = await router(t, [sim!.url]);
  const abort = new AbortController();
  const res = await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1000, ignore_eos: true, stream: true }), signal: abort.signal });
  const reader = res.body!.getReader();
  await reader.read();
  abort.abort();
  const running = async () => /vllm:num_requests_running\{[^}]*\} (\d+)/.exec(await (await fetch(`${sim!.url}/metrics`)).text())?.[1];
  await until('the engine to drop the abandoned request', async () => (await running()) === '0');
});

test('a killed engine costs no request: connections fail over, the engine is ejected, and it returns once healthy', async (t) => {
  const engineProcs = await children(t, 3, ['--time-scale', '0']);
  const r = await router(t, engineProcs.map((e) => e.url));
  const statuses: number[] = [];
  const attempts: string[] = [];
  let sent = 0;
  const worker = async () => {
    while (sent < 300) {
      sent++;
      if (sent === 100) engineProcs[1]!.child.kill('SIGKILL');
      const reply = await post(r.url, { model: MODEL, prompt: `request ${sent}`, max_tokens: 2 });
      statuses.push(reply.status);
      attempts.push(reply.headers.get('x-router-attempts') ?? '');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.equal(statuses.length, 300);
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request succeeded');
  assert.ok(attempts.includes('2'), 'some requests were retried on another engine');
  const killed = engineProcs[1]!.url;
  assert.equal((await engines(r.url)).engines.find((e) => e.url === killed)?.healthy, false, 'the dead engine is out of rotation');

  const port = new URL(killed).port;
  const revived = await startChildServer(ENGINE_SIM_MAIN, ['--port', port, '--time-scale', '0']);
  t.after(() => revived.stop());
  await until('the revived engine to be probed back in', async () => (await engines(r.url)).engines.find((e) => e.url === killed)?.healthy === true, 10_000);
});

test('the dynamic config file changes backends and routing without a restart; a bad file is rejected and named', async (t) => {
  const [a, b] = await children(t, 2, ['--inter-token-latency', '30', '--prefill-overhead', '0']);
  const dir = await mkdtemp(join(tmpdir(), 'router-dyn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'dynamic.json');
  const write = async (config: unknown) => {
    await writeFile(`${file}.tmp`, typeof config === 'string' ? config : JSON.stringify(config));
    await rename(`${file}.tmp`, file);
  };
  await write({ static_backends: a!.url, static_models: MODEL, routing_logic: 'roundrobin' });
  const r = await startChildServer(ROUTER_MAIN, ['--port', '0', '--dynamic-config-json', file, '--api-key', 'secret-client-key'], { ...process.env, VLLM_API_KEY: '' });
  t.after(() => r.stop());
  const auth = { authorization: 'Bearer secret-client-key' };
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' }, auth)).headers.get('x-engine-instance-id'), 'engine-0');

  // A stream in flight on engine-0 must survive engine-0 leaving the config.
  const inFlight = post(r.url, { model: MODEL, prompt: 'x', max_tokens: 20, ignore_eos: true, stream: true }, auth);
  await until('the stream on engine-0', async () => /^vllm:num_requests_running\{[^}]*\} 1$/m.test(await (await fetch(`${a!.url}/metrics`)).text()));
  await write({ static_backends: b!.url, static_models: MODEL, routing_logic: 'session', session_key: 'x-tenant' });
  await until('the new config to apply', async () => (await engines(r.url)).routing_logic === 'session');
  assert.match((await inFlight).json, /data: \[DONE\]/);
  assert.deepEqual((await engines(r.url)).engines.map((e) => e.url), [b!.url]);
  assert.equal((await post(r.url, { model: MODEL, prompt: 'x' }, auth)).headers.get('x-engine-instance-id'), 'engine-1');

  await write({ static_backends: a!.url, static_models: MODEL, routing_logic: 'fastest' });
  await until('the rejection to be logged', async () => r.output().includes('dynamic config rejected'));
  assert.match(r.output(), /routing logic "fastest" is not one of/);
  assert.deepEqual((await engines(r.url)).engines.map((e) => e.url), [b!.url], 'the running config stays');
  assert.match(r.output(), /INFO request id=\S+ model=facebook\/opt-125m engine=http:\/\/127\.0\.0\.1:\d+ status=200 ms=\d+ attempts=1/);
  assert.ok(!r.output().includes('secret-client-key'), 'keys never appear in the log');
});

test('SIGTERM: the router stops accepting, lets an in-flight stream finish, and exits 0', async (t) => {
  const [sim] = await sims(t, 1, { timeScale: 1, interTokenLatency: 30, prefillOverhead: 0 });
  const r = await startChildServer(ROUTER_MAIN, ['--port', '0', '--static-backends', sim!.url, '--static-models', MODEL]);
  t.after(() => r.stop());
  const res = await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 10, ignore_eos: true, stream: true }) });
  const reader = res.body!.getReader();
  // The stream is in flight once its first token is here: a signal sent earlier could find the request not yet arrived.
  let text = new TextDecoder().decode((await reader.read()).value);
  r.child.kill('SIGTERM');
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
  assert.match(text, /data: \[DONE\]/);
  assert.equal(await r.exited, 0);
  await assert.rejects(fetch(`${r.url}/health`), 'no longer accepting');
});

test('SIGTERM: answers during the drain say connection: close on both paths, idle keep-alive connections close at once, and --drain-timeout bounds the rest', async (t) => {
  const [slow] = await sims(t, 1, { timeScale: 1, prefillOverhead: 400, interTokenLatency: 1 });
  const [endless] = await sims(t, 1, { timeScale: 1, interTokenLatency: 30, prefillOverhead: 0, model: 'endless', instanceId: 'endless' });
  const r = await startChildServer(ROUTER_MAIN, ['--port', '0', '--static-backends', `${slow!.url},${endless!.url}`, '--static-models', `${MODEL},endless`, '--drain-timeout', '1.5']);
  t.after(() => r.stop());
  const port = Number(new URL(r.url).port);
  const idle = new RawClient(port);
  t.after(() => idle.socket.destroy());
  idle.send('GET /health HTTP/1.1\r\nHost: router\r\n\r\n');
  assert.equal((await idle.answer()).headers['connection'], 'keep-alive', 'a node:http keep-alive connection, idle from now on');
  const fast = new RawClient(port);
  const chunked = new RawClient(port);
  const cut = new RawClient(port);
  t.after(() => [fast, chunked, cut].forEach((c) => c.socket.destroy()));
  fast.send(rawPost(JSON.stringify({ model: MODEL, prompt: 'fast path', max_tokens: 1 })));
  chunked.send(chunkedPost(JSON.stringify({ model: MODEL, prompt: 'node path', max_tokens: 1 })));
  cut.send(rawPost(JSON.stringify({ model: 'endless', prompt: 'x', max_tokens: 500, ignore_eos: true, stream: true })));
  await until('the endless stream to start', async () => cut.unread().includes('data: '));
  const running = async () => /vllm:num_requests_running\{[^}]*\} (\d+)/.exec(await (await fetch(`${slow!.url}/metrics`)).text())?.[1];
  await until('both requests to reach the slow engine', async () => (await running()) === '2');
  r.child.kill('SIGTERM');
  await idle.closedByServer(1000);
  for (const [what, c] of [['fast path', fast], ['node:http path', chunked]] as const) {
    const a = await c.answer();
    assert.equal(a.status, 200, what);
    assert.equal(a.headers['connection'], 'close', `${what}: an answer written during the drain says the connection closes`);
    await c.closedByServer(1000);
  }
  assert.equal(await r.exited, 0, 'the stream longer than --drain-timeout was cut, and the router exited 0');
  assert.ok(!cut.unread().includes('[DONE]'));
});

test('promtool finds nothing wrong with the router\'s /metrics but vLLM-style names', async (t) => {
  if (!(await which('promtool', { nothrow: true }))) return t.skip('promtool is not installed (make deps installs prometheus)');
  const [sim] = await sims(t, 1);
  const r = await router(t, [sim!.url]);
  await post(r.url, { model: MODEL, prompt: 'x' });
  await post(r.url, { model: 'unknown', prompt: 'x' });
  const text = await (await fetch(`${r.url}/metrics`)).text();
  for (const name of ['vllm:current_qps', 'vllm:avg_latency', 'vllm:num_incoming_requests_total', 'vllm:request_latency_seconds', 'vllm:healthy_pods_total']) assert.ok(text.includes(name), name);
  assert.ok(!/^vllm:num_requests_running/m.test(text), 'no engine metric names re-exported');
  const out = await $({ input: text, nothrow: true, quiet: true })`promtool check metrics`;
  // vllm:healthy_pods_total is a gauge named as production-stack names it; dashboards depend on the name.
  const problems = (out.stdout + out.stderr).split('\n').filter((l) => l.trim() && !l.includes("should not contain ':'") && !l.startsWith('vllm:healthy_pods_total non-counter metrics should not have "_total" suffix'));
  assert.deepEqual(problems, []);
});
