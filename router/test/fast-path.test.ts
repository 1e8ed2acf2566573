// The fast path over loopback, byte by byte as a client sends them: keep-alive,
// pipelining, the hand-over to Node's server mid-connection, uploads it does
// not take, over-limit bodies and Connection: close. (What hostile clients
// do to it is in hostile-clients.test.ts.)
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { startEngineSim } from '../../engine-sim/src/index.js';
import { DeadlineSweep } from '../src/deadlines.js';
import { installFastPath } from '../src/http1/fast-path.js';
import { startRouter, type RunningRouter } from '../src/index.js';
import { completion, MODEL, post, RawClient } from '../../test/support/raw-http.js';

async function routerWithEngine(t: TestContext, args: string[] = []): Promise<RunningRouter> {
  const sim = await startEngineSim({ timeScale: 0 });
  const r = await startRouter(['--static-backends', sim.url, '--static-models', MODEL, '--log-level', 'warn', ...args]);
  t.after(async () => {
    await r.close();
    await sim.close();
  });
  return r;
}

test('keep-alive: POSTs on one connection are answered in turn, then a GET on it is handed to Node\'s server and answered too', async (t) => {
  const r = await routerWithEngine(t);
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  for (const prompt of ['one', 'two']) {
    c.send(post(completion(prompt)));
    const a = await c.answer();
    assert.equal(a.status, 200);
    assert.equal(a.headers['connection'], 'keep-alive');
    assert.ok(a.headers['x-request-id'] && a.headers['x-router-engine'] && a.headers['date']);
    assert.equal(JSON.parse(a.body).object, 'text_completion');
  }
  c.send('GET /health HTTP/1.1\r\nHost: router\r\n\r\n');
  assert.deepEqual(JSON.parse((await c.answer()).body), { status: 'healthy' });
  c.send(post(completion('three')));
  assert.equal((await c.answer()).status, 200, 'POSTs still work once Node\'s server has the connection');
});

test('pipelined requests are answered in order, and bytes split anywhere are put back together', async (t) => {
  const r = await routerWithEngine(t);
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  c.send(post(completion('first'), ['X-Request-Id: first']) + post(completion('second'), ['X-Request-Id: second']));
  assert.equal((await c.answer()).headers['x-request-id'], 'first');
  assert.equal((await c.answer()).headers['x-request-id'], 'second');
  const bytes = Buffer.from(post(completion('dripped'), ['X-Request-Id: dripped']));
  for (const cut of [3, 40, bytes.length - 5]) {
    c.send(bytes.subarray(0, cut));
    await new Promise((res) => setTimeout(res, 20));
    c.send(bytes.subarray(cut));
    assert.equal((await c.answer()).headers['x-request-id'], 'dripped');
  }
});

test('a chunked upload is not the fast path\'s: Node\'s server reads it and the engine answers', async (t) => {
  const r = await routerWithEngine(t);
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  const body = completion('chunked');
  c.send(`POST /v1/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  const a = await c.answer();
  assert.equal(a.status, 200);
  assert.equal(JSON.parse(a.body).object, 'text_completion');
});

test('a body over --max-body-size gets 413 without being kept, and the connection stays in step', async (t) => {
  const r = await routerWithEngine(t, ['--max-body-size', '1000']);
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  const big = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(5000) });
  c.send(post(big));
  const a = await c.answer();
  assert.equal(a.status, 413);
  assert.equal(JSON.parse(a.body).error.type, 'body_too_large');
  c.send(post(completion('after')));
  assert.equal((await c.answer()).status, 200, 'the dropped body was not read as the next request');
});

test('Connection: close ends the connection once the answer is out', async (t) => {
  const r = await routerWithEngine(t);
  const closing = new RawClient(r.port);
  closing.send(post(completion('bye'), ['Connection: close']));
  const a = await closing.answer();
  assert.equal(a.status, 200);
  assert.equal(a.headers['connection'], 'close');
  await closing.closedByServer();
});

test('the router\'s own errors on the fast path are OpenAI-shaped and keep the connection', async (t) => {
  const r = await routerWithEngine(t, ['--api-key', 'secret']);
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  c.send(post(completion('no key')));
  const refused = await c.answer();
  assert.equal(refused.status, 401);
  assert.equal(JSON.parse(refused.body).error.type, 'unauthorized');
  c.send(post('{not json', ['Authorization: Bearer secret']));
  assert.equal((await c.answer()).status, 400);
  c.send(post(completion('ok'), ['Authorization: Bearer secret']));
  assert.equal((await c.answer()).status, 200);
});

test('mangled requests never take the router down: 300 seeded mutations of a valid POST, then a normal request', async (t) => {
  const r = await routerWithEngine(t, ['--max-body-size', '4096']);
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const valid = Buffer.from(post(completion('fuzz')) + post(completion('again')));
  const mutate = (): Buffer => {
    const b = Buffer.from(valid);
    for (let k = 1 + random(4); k > 0; k--) {
      const at = random(b.length);
      const what = random(4);
      if (what === 0) b[at] = random(256);
      else if (what === 1) b[at] = [13, 10, 58, 32, 48, 57][random(6)]!;
      else if (what === 2) return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + random(20))]);
      else return Buffer.concat([b.subarray(0, at), Buffer.from('\r\nContent-Length: 9999999\r\n'), b.subarray(at)]);
    }
    return b;
  };
  for (let batch = 0; batch < 15; batch++) {
    await Promise.all(Array.from({ length: 20 }, () => new Promise<void>((resolve) => {
      const s = connect(r.port, '127.0.0.1', () => {
        s.write(mutate());
        s.end();
      });
      s.on('data', () => undefined);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      setTimeout(() => s.destroy(), 200);
    })));
  }
  const c = new RawClient(r.port);
  t.after(() => c.socket.destroy());
  c.send(post(completion('still here')));
  assert.equal((await c.answer()).status, 200);
});

test('the fast path keeps the server\'s settings: its keep-alive timeout in the header, its header size limit for the hand-over', async (t) => {
  const server = createServer((_req, res) => res.end('node'));
  const sweep = new DeadlineSweep(1000);
  installFastPath(server, { request: (r) => r.response.writeHead(200, ['content-length', '4']) && r.response.end('fast'), timedOut: (s) => s.destroy() }, {
    maxBodySize: 1000, maxHeaderBytes: 2048, keepAliveMs: 7000, requestDeadlines: sweep, requestDeadline: () => performance.now() + 60_000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const c = new RawClient((server.address() as { port: number }).port);
  t.after(() => c.socket.destroy());
  c.send(post('{}'));
  const fast = await c.answer();
  assert.equal(fast.body, 'fast');
  assert.equal(fast.headers['keep-alive'], 'timeout=7');
  c.send(post('{}', [`X-Pad: ${'p'.repeat(3000)}`]));
  assert.equal((await c.answer()).body, 'node', 'a head over the limit goes to Node\'s server, which applies its own');
});
