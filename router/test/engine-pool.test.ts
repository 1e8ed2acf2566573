// The engine-side connection pool on loopback: one write per request, kept-alive
// connections reused (and not when the engine says otherwise or the answer is
// out of step), waiting for a free connection, and connection failures with
// the codes failover sorts them by, the connect timeout included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { EnginePool, type EngineHandler, type EngineRequest } from '../src/http1/engine-pool.js';

interface Outcome { status: number | null; headers: string[]; body: string; error: string | null }

function send(pool: EnginePool, request: EngineRequest, onConnect?: (abort: (err?: Error) => void) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: null, headers: [], body: '', error: null };
    const handler: EngineHandler = {
      onConnect: (abort) => onConnect?.(abort),
      onHeaders: (status, raw) => {
        out.status = status;
        out.headers = raw;
        return true;
      },
      onData: (chunk) => {
        out.body += chunk.toString();
        return true;
      },
      onComplete: () => resolve(out),
      onError: (err) => resolve({ ...out, error: (err as { code?: string }).code ?? err.message }),
    };
    pool.dispatch(request, handler);
  });
}

const POST = (body: string): EngineRequest => ({ method: 'POST', path: '/v1/completions', headers: ['x-test', '1'], body: Buffer.from(body) });

/** A raw engine: `answer` gets each request's bytes (head and body as one read) and its socket. */
async function rawEngine(answer: (request: string, socket: Socket) => void): Promise<{ url: string; server: Server; connections: number; requests: string[] }> {
  const state = { connections: 0, requests: [] as string[] };
  const server = createServer((socket) => {
    state.connections++;
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const request = buffered.slice(0, end + 4 + length);
      buffered = buffered.slice(end + 4 + length);
      state.requests.push(request);
      answer(request, socket);
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, server });
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

test('requests go out whole with host and content-length, and one kept-alive connection carries them in turn', async () => {
  const engine = await rawEngine((req, socket) => socket.write(ok(`{"echo":${JSON.stringify(req.split('\r\n\r\n')[1])}}`)));
  const pool = new EnginePool(engine.url, { connections: 4 });
  for (const body of ['{"a":1}', '{"b":2}', '{"c":3}']) {
    const r = await send(pool, POST(body));
    assert.equal(r.error, null);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { echo: body });
  }
  assert.equal(engine.connections, 1);
  assert.match(engine.requests[0] as string, new RegExp(`^POST /v1/completions HTTP/1.1\r\nhost: ${new URL(engine.url).host}\r\nx-test: 1\r\ncontent-length: 7\r\n\r\n`));
  await pool.close();
});

test('with every connection busy a request waits for one, then runs on it', async () => {
  const engine = await rawEngine((_req, socket) => setTimeout(() => socket.write(ok('{}')), 50));
  const pool = new EnginePool(engine.url, { connections: 1 });
  const results = await Promise.all([send(pool, POST('1')), send(pool, POST('2')), send(pool, POST('3'))]);
  assert.deepEqual(results.map((r) => [r.status, r.error]), [[200, null], [200, null], [200, null]]);
  assert.equal(engine.connections, 1);
  await pool.close();
});

test('a connection is not reused after Connection: close, a Keep-Alive timeout of 1 s, bytes beyond the answer, or an abort', async () => {
  const answers = [ok('{}', 'connection: close\r\n'), ok('{}', 'keep-alive: timeout=1\r\n'), `${ok('{}')}HTTP/1.1 200 OK\r\n`, null, ok('{}')];
  let i = 0;
  const engine = await rawEngine((_req, socket) => {
    const a = answers[i++];
    if (a === null) socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n');
    else socket.write(a);
  });
  const pool = new EnginePool(engine.url, { connections: 4 });
  for (let k = 0; k < 3; k++) assert.equal((await send(pool, POST('x'))).status, 200);
  let abort: ((err?: Error) => void) | null = null;
  const aborted = send(pool, POST('x'), (a) => (abort = a));
  while (engine.requests.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  (abort as unknown as (err?: Error) => void)();
  assert.equal((await aborted).error, 'UND_ERR_ABORTED');
  assert.equal((await send(pool, POST('x'))).status, 200);
  assert.equal(engine.connections, 5, 'each of the first four connections was closed after its answer');
  await pool.close();
});

test('an engine that closes before answering or mid-answer, or is not listening, fails with the codes failover sorts by', async () => {
  let n = 0;
  const engine = await rawEngine((_req, socket) => {
    if (n++ === 0) socket.destroy();
    else socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"a"');
  });
  const pool = new EnginePool(engine.url, { connections: 4 });
  assert.equal((await send(pool, POST('x'))).error, 'UND_ERR_SOCKET');
  const cut = await send(pool, POST('x'));
  assert.deepEqual([cut.status, cut.body, cut.error], [200, '{"a"', 'UND_ERR_SOCKET']);
  await pool.close();
  const closed = new EnginePool(engine.url, { connections: 4 });
  await closed.close();
  assert.equal((await send(closed, POST('x'))).error, 'UND_ERR_CLOSED', 'a removed engine takes no new request');
  const free = createServer();
  free.listen(0, '127.0.0.1');
  await once(free, 'listening');
  const port = (free.address() as { port: number }).port;
  free.close();
  await once(free, 'close');
  const refused = new EnginePool(`http://127.0.0.1:${port}`, { connections: 4 });
  assert.equal((await send(refused, POST('x'))).error, 'ECONNREFUSED');
});

test('a connection the engine host never completes fails with UND_ERR_CONNECT_TIMEOUT after connectTimeoutMs', { timeout: 20_000 }, async () => {
  // A listener that never accepts, its queue full: the kernel drops further SYNs, as a host that has gone quiet.
  // Python (there with ansible-core, from make deps) can listen without accepting; Node always accepts.
  const listener = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  after(() => listener.kill());
  const [line] = (await once(listener.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const fillers: Socket[] = [];
  after(() => fillers.forEach((s) => s.destroy()));
  // Fill the accept queue until a connection no longer completes.
  for (;;) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
    const done = await Promise.race([once(s, 'connect').then(() => true), new Promise((resolve) => setTimeout(resolve, 1000, false))]);
    if (!done) break;
    assert.ok(fillers.length < 20, 'the listener kept accepting');
  }
  const pool = new EnginePool(`http://127.0.0.1:${port}`, { connections: 4, connectTimeoutMs: 300 });
  const t0 = performance.now();
  const r = await send(pool, POST('x'));
  assert.equal(r.error, 'UND_ERR_CONNECT_TIMEOUT');
  assert.ok(performance.now() - t0 >= 290, 'not before the timeout');
});
