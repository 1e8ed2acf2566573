// The router against clients that attack it and engines that misbehave, on
// loopback: each case is a defect found by probing a running router, and
// what it must do instead. Bounds are flags, set small here, so that no case
// waits out a real timeout.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startEngineSim, type RunningSim } from '../../engine-sim/src/index.js';
import { startRouter, type RunningRouter } from '../src/index.js';
import { answer500, answerOk, fakeEngine, hang, until } from './support/fake-engine.js';
import { chunkedPost, completion, MODEL, post, RawClient } from '../../test/support/raw-http.js';

async function sim(t: TestContext, options: Parameters<typeof startEngineSim>[0] = {}): Promise<RunningSim> {
  const s = await startEngineSim({ timeScale: 0, ...options });
  t.after(() => s.close());
  return s;
}

async function router(t: TestContext, backends: string[], args: string[] = []): Promise<RunningRouter> {
  const r = await startRouter(['--static-backends', backends.join(','), '--static-models', backends.map(() => MODEL).join(','), '--log-level', 'warn', ...args]);
  t.after(() => r.close());
  return r;
}

function client(t: TestContext, r: RunningRouter): RawClient {
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  return c;
}

const engines = async (r: RunningRouter) => ((await (await fetch(`${r.url}/engines`)).json()) as { engines: { url: string; healthy: boolean; consecutive_failures: number }[] }).engines;

// ---------------------------------------------------------------- 1. Expect: 100-continue

test('Expect: 100-continue gets 100 Continue and is never forwarded: six such requests eject no engine', async (t) => {
  const engine = await fakeEngine(t, answerOk);
  const r = await router(t, [engine.url]);
  for (let i = 0; i < 6; i++) {
    const c = client(t, r);
    const body = completion(`expect ${i}`);
    c.send(`POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    assert.equal((await c.answer()).status, 100, 'the router invites the body');
    c.send(body);
    assert.equal((await c.answer()).status, 200, `request ${i} reached the engine`);
  }
  assert.equal(engine.lastHeaders.expect, undefined, 'expect is hop-by-hop for the router: the engine never sees it');
  assert.deepEqual((await engines(r)).map((e) => [e.healthy, e.consecutive_failures]), [[true, 0]]);
  assert.equal((await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: completion('after') })).status, 200);
});

// ---------------------------------------------------------------- 2. a client that leaves cancels its engine request

for (const path of ['fast path', 'node:http path'] as const) {
  for (const how of ['FIN', 'RST'] as const) {
    test(`${path}: a client that goes away (${how}) cancels its engine request and frees its --max-concurrency slot`, async (t) => {
      const hung = await fakeEngine(t, hang);
      const r = await router(t, [hung.url], ['--max-concurrency', '1']);
      const c = client(t, r);
      c.send(path === 'fast path' ? post(completion('left')) : chunkedPost(completion('left')));
      await until('the request to reach the engine', () => hung.received === 1);
      if (how === 'FIN') c.socket.end();
      else c.socket.resetAndDestroy();
      await until('the router to abandon the engine request', () => hung.abandoned === 1);
      // The slot is free again: the next request gets to the engine instead of a 429.
      const next = client(t, r);
      next.send(post(completion('next')));
      await until('the next request to reach the engine', () => hung.received === 2);
    });
  }
}

// ---------------------------------------------------------------- 3. uploads in progress take no slot

test('stalled uploads take no --max-concurrency slot: a request with its body complete still gets through', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url], ['--max-concurrency', '2']);
  for (let i = 0; i < 5; i++) {
    const stalled = client(t, r);
    stalled.send(chunkedPost('{"model":', [], true));
  }
  const fast = client(t, r);
  fast.send(post(completion('through')));
  assert.equal((await fast.answer()).status, 200);
});

// ---------------------------------------------------------------- 4. garbage after a request

test('garbage after a streaming request leaves its answer whole, then the connection closes', async (t) => {
  const s = await sim(t, { timeScale: 1, interTokenLatency: 20, prefillOverhead: 0 });
  const r = await router(t, [s.url]);
  const c = client(t, r);
  c.send(chunkedPost(completion('stream', { max_tokens: 5, ignore_eos: true, stream: true })));
  await until('the stream\'s first token', () => c.unread().includes('data: '));
  c.send('this is not HTTP\r\n\r\n');
  const a = await c.answer();
  assert.equal(a.status, 200);
  assert.match(a.body, /data: \[DONE\]\n\n$/);
  assert.ok(!a.body.includes('HTTP/1.1'), 'nothing was written into the middle of the stream');
  await c.closedByServer();
});

test('garbage as the first request gets an OpenAI-shaped 400 with a request id, then the connection closes', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url]);
  const c = client(t, r);
  c.send('POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Length: abc\r\n\r\n');
  const a = await c.answer();
  assert.equal(a.status, 400);
  assert.equal(JSON.parse(a.body).error.type, 'invalid_request');
  assert.ok(a.headers['x-request-id']);
  assert.equal(a.headers['connection'], 'close');
  await c.closedByServer();
});

// ---------------------------------------------------------------- 5. memory a client controls

test('pipelined bytes behind requests in flight are not read: the clients are held back, not buffered', async (t) => {
  const hung = await fakeEngine(t, hang);
  const r = await router(t, [hung.url]);
  const flooders = Array.from({ length: 4 }, () => client(t, r));
  for (const c of flooders) c.send(post(completion('first')));
  await until('the requests to reach the engine', () => hung.received === 4);
  // 4 × 16 MB behind requests that never end: a router that reads them holds them (up to --max-body-size each).
  const floods = flooders.map(() => Buffer.alloc(16 << 20, 'a'));
  // Buffers are counted apart from the heap: what the router reads off its sockets shows here, and nothing else this test does.
  const before = process.memoryUsage().arrayBuffers;
  flooders.forEach((c, i) => c.send(floods[i]!));
  let peak = 0;
  for (let i = 0; i < 10; i++) {
    await new Promise((res) => setTimeout(res, 50));
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  }
  assert.ok(peak < 4 << 20, `the router took in ${(peak / 2 ** 20).toFixed(1)} MB of the 64 MB pipelined at it`);
});

test('--max-connections: connections beyond the cap are closed at once, and room frees up as others close', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url], ['--max-connections', '2']);
  const held = [client(t, r), client(t, r)];
  await Promise.all(held.map((c) => c.connected));
  await new Promise((res) => setTimeout(res, 50));
  const extra = client(t, r);
  await extra.closedByServer();
  held[0]!.socket.destroy();
  await new Promise((res) => setTimeout(res, 50));
  const later = client(t, r);
  later.send(post(completion('room')));
  assert.equal((await later.answer()).status, 200);
});

test('a deeply nested JSON body is refused before it is parsed', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url]);
  const depth = 100_000;
  const body = `{"model":"${MODEL}","prompt":"x","extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const c = client(t, r);
  c.send(post(body));
  const a = await c.answer();
  assert.equal(a.status, 400);
  assert.match(JSON.parse(a.body).error.message, /nested deeper than 128/);
  c.send(post(JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1, deep: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) })));
  assert.equal((await c.answer()).status, 200, 'ordinary nesting passes');
});

test('model names a client invents make no metric series', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url], ['--static-aliases', 'opt:facebook/opt-125m']);
  for (let i = 0; i < 20; i++) assert.equal((await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: `invented-${i}`, prompt: 'x' }) })).status, 404);
  for (const model of [MODEL, 'opt']) await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'x', max_tokens: 1 }) });
  const text = await (await fetch(`${r.url}/metrics`)).text();
  assert.ok(!text.includes('invented-'), 'no series for invented model names');
  assert.match(text, /vllm:num_incoming_requests_total\{model="facebook\/opt-125m"\} 1/);
  assert.match(text, /vllm:num_incoming_requests_total\{model="opt"\} 1/);
});

// ---------------------------------------------------------------- 6. timeouts

test('--client-request-timeout: a body trickled byte by byte gets 408 on both paths, and a slow head too', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url], ['--client-request-timeout', '0.4']);
  const body = completion('trickle');
  for (const [what, start] of [['fast path', post(body).slice(0, -body.length)], ['node:http path', chunkedPost(body, [], true).slice(0, -body.length - 10)], ['head', 'POST /v1/completions HTTP/1.1\r\nHost: rou']] as const) {
    const c = client(t, r);
    c.send(start);
    const drip = setInterval(() => c.socket.writable && c.send('x'), 50);
    t.after(() => clearInterval(drip));
    const a = await c.answer(3000);
    clearInterval(drip);
    assert.equal(a.status, 408, what);
    assert.equal(JSON.parse(a.body).error.type, 'request_timeout', what);
    await c.closedByServer();
  }
});

test('--stream-idle-timeout: an engine stream that hangs after its headers ends with an SSE error event and [DONE], and counts against the engine', async (t) => {
  const stuck = await fakeEngine(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"text":"a"}]}\n\n');
  });
  const r = await router(t, [stuck.url], ['--stream-idle-timeout', '0.3']);
  const c = client(t, r);
  c.send(post(completion('stuck', { stream: true })));
  const a = await c.answer(3000);
  assert.equal(a.status, 200);
  const events = a.body.split('\n\n').filter(Boolean);
  assert.deepEqual(events.slice(-2).map((e) => e.slice(0, 12)), ['data: {"erro', 'data: [DONE]']);
  const error = JSON.parse(events.at(-2)!.slice(6)).error;
  assert.equal(error.code, 504);
  assert.match(error.message, /stream-idle-timeout/);
  await until('the engine request to be closed', () => stuck.abandoned === 1);
  assert.equal((await engines(r))[0]!.consecutive_failures, 1);
});

test('--stream-idle-timeout: a client that stops reading is cut off, its engine request cancelled, and the engine is not blamed', async (t) => {
  const chatty = await fakeEngine(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = `data: ${'x'.repeat(64 * 1024)}\n\n`;
    const pump = () => {
      while (res.write(event));
      res.once('drain', pump);
    };
    pump();
  });
  // Each time the client's socket drains, the engine's stream resumes and must send within the
  // timeout: the engine runs in this process, so on a loaded machine a tight bound (it was 0.3 s)
  // blamed it for this process's own scheduling delay.
  const r = await router(t, [chatty.url], ['--stream-idle-timeout', '1.5']);
  const c = client(t, r);
  c.socket.pause();
  c.send(post(completion('never read', { stream: true })));
  await until('the router to give up on the client', () => chatty.abandoned === 1, 15_000);
  assert.equal((await engines(r))[0]!.consecutive_failures, 0);
});

// ---------------------------------------------------------------- 7. an engine answering 5xx

test('--outlier-consecutive-5xx ejects an engine answering 5xx, for --outlier-ejection-time; off by default', async (t) => {
  const broken = await fakeEngine(t, answer500);
  const good = await fakeEngine(t, answerOk);
  const statuses = async (r: RunningRouter, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await fetch(`${r.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: completion(`${i}`) })).status);
    return out;
  };
  const byDefault = await router(t, [broken.url, good.url]);
  assert.equal((await statuses(byDefault, 12)).filter((s) => s === 500).length, 6, 'off by default: the broken engine keeps its share');

  const ejecting = await router(t, [broken.url, good.url], ['--outlier-consecutive-5xx', '3', '--outlier-ejection-time', '60']);
  const seen = await statuses(ejecting, 16);
  assert.equal(seen.filter((s) => s === 500).length, 3, `three 500s, then no more: ${seen.join(' ')}`);
  const state = await engines(ejecting);
  assert.equal(state.find((e) => e.url === broken.url)?.healthy, false);
  assert.equal(state.find((e) => e.url === good.url)?.healthy, true);

  const returning = await router(t, [broken.url], ['--outlier-consecutive-5xx', '1', '--outlier-ejection-time', '0.2']);
  assert.deepEqual(await statuses(returning, 2), [500, 503], 'ejected after one 5xx: no engine left for the model');
  await until('the ejection time to pass', async () => (await engines(returning))[0]!.healthy, 3000);
});

// ---------------------------------------------------------------- 8. the smaller ones

test('heads that can never be a strict HTTP/1.1 head are answered at once, not after a timeout: bare LF, TLS, two Hosts', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url]);
  const tlsHello = Buffer.from('16030100a5010000a10303', 'hex');
  const cases: [string, string | Buffer][] = [
    ['bare LF line ends', 'POST /v1/completions HTTP/1.1\nHost: router\nContent-Length: 2\n\n{}'],
    ['a TLS ClientHello', tlsHello],
    ['two Host headers', post(completion('two hosts'), ['Host: elsewhere'])],
    ['two Host headers, chunked', chunkedPost(completion('two hosts'), ['Host: elsewhere'])],
  ];
  for (const [what, bytes] of cases) {
    const c = client(t, r);
    c.send(bytes);
    const a = await c.answer(2000);
    assert.equal(a.status, 400, what);
    assert.equal(JSON.parse(a.body).error.type, 'invalid_request', what);
  }
});

test('an oversized head gets 431 and a request timeout 408, in the OpenAI shape', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url], ['--client-request-timeout', '0.3']);
  const big = client(t, r);
  big.send(post(completion('big'), [`X-Big: ${'b'.repeat(20_000)}`]));
  const a = await big.answer();
  assert.equal(a.status, 431);
  assert.equal(JSON.parse(a.body).error.type, 'headers_too_large');
  const slow = client(t, r);
  slow.send('GET /health HTTP/1.1\r\n');
  assert.equal((await slow.answer(3000)).status, 408);
});

test('POST, a pipelined GET, then FIN: both are answered in order', async (t) => {
  const s = await sim(t);
  const r = await router(t, [s.url]);
  const c = client(t, r);
  c.send(`${post(completion('first'))}GET /health HTTP/1.1\r\nHost: router\r\n\r\n`);
  c.socket.end();
  assert.equal((await c.answer()).status, 200);
  assert.deepEqual(JSON.parse((await c.answer()).body), { status: 'healthy' });
});

test('a stream cut by a dying engine ends with an SSE error event, [DONE] and a proper end', async (t) => {
  const dying = await fakeEngine(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {"choices":[{"text":"a"}]}\n\n', () => setTimeout(() => req.socket.destroy(), 20));
  });
  const r = await router(t, [dying.url]);
  const c = client(t, r);
  c.send(post(completion('dying', { stream: true })));
  const a = await c.answer();
  const events = a.body.split('\n\n').filter(Boolean);
  assert.equal(events.length, 3, a.body);
  assert.equal(JSON.parse(events[1]!.slice(6)).error.code, 502);
  assert.equal(events[2], 'data: [DONE]');
  c.send(post(completion('after', { stream: false })));
  assert.ok((await c.answer()).status > 0, 'the connection stayed usable');
});

test('a request id cannot forge log fields or lines', async (t) => {
  const s = await sim(t);
  const lines: string[] = [];
  const r = await router(t, [s.url], ['--log-level', 'info']);
  r.server.log.output = (l) => lines.push(l);
  const c = client(t, r);
  c.send(post(completion('x'), ['X-Request-Id: abc status=500 engine=evil']));
  await c.answer();
  const request = lines.filter((l) => / INFO request /.test(l));
  assert.equal(request.length, 1);
  assert.match(request[0]!, / id="abc status=500 engine=evil" model=\S+ engine=\S+ status=200 ms=\d+ attempts=1\n$/);
});
