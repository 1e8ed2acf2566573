// The engine-side connection pool on loopback: one write per request, kept-alive
// connections reused (and not when the engine says otherwise or the answer is
// out of step), waiting for a free connection, and connection failures with
// the codes failover sorts them by, the connect timeout included; and an
// https engine, whose certificate is checked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
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

/** A raw engine: `answer` gets each request's bytes (head and body as one read) and its socket; over TLS when given a certificate. */
async function rawEngine(answer: (request: string, socket: Socket) => void, tls?: { cert: Buffer; key: Buffer }): Promise<{ url: string; server: Server; connections: number; requests: string[]; sockets: Socket[] }> {
  const state = { connections: 0, requests: [] as string[], sockets: [] as Socket[] };
  const serve = (socket: Socket) => {
    state.connections++;
    state.sockets.push(socket);
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
  };
  const server = tls ? createTlsServer({ ...tls, ALPNProtocols: ['http/1.1'] }, serve) : createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, server });
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

test('an https engine: an untrusted certificate fails the request, a trusted one carries requests on one kept-alive TLS connection (ALPN http/1.1, no SNI for an IP)', { timeout: 20_000 }, async () => {
  const fixture = (name: string) => fileURLToPath(new URL(`../../../router/test/fixtures/${name}`, import.meta.url));
  const [cert, key] = await Promise.all([readFile(fixture('engine-tls-cert.pem')), readFile(fixture('engine-tls-key.pem'))]);
  const engine = await rawEngine((req, socket) => socket.write(ok(`{"echo":${JSON.stringify(req.split('\r\n\r\n')[1])}}`)), { cert, key });
  const untrusted = new EnginePool(engine.url, { connections: 2 });
  assert.equal((await send(untrusted, POST('x'))).error, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  await untrusted.close();
  assert.equal(engine.requests.length, 0, 'nothing was sent to an engine whose certificate failed');
  // Node reads extra trusted CAs at start only (as a user would give them): the trusted case runs in a child.
  const script = `const { EnginePool } = await import(process.argv[1]);
const pool = new EnginePool(process.argv[2], { connections: 2 });
const send = (body) => new Promise((resolve) => { let out = ''; pool.dispatch({ method: 'POST', path: '/v1/completions', headers: [], body: Buffer.from(body) }, {
  onConnect() {}, onHeaders(status) { out += status + ' '; return true; }, onData(c) { out += c; return true; }, onComplete() { resolve(out); }, onError(e) { resolve('error ' + (e.code ?? e.message)); } }); });
console.log(JSON.stringify([await send('{"a":1}'), await send('{"b":2}')]));
await pool.close();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, new URL('../src/http1/engine-pool.js', import.meta.url).href, engine.url], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: fixture('engine-tls-cert.pem') }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(output), ['200 {"echo":"{\\"a\\":1}"}', '200 {"echo":"{\\"b\\":2}"}']);
  assert.equal(engine.connections, 1, 'one connection for both trusted requests (the untrusted attempt never completed its handshake)');
  const tlsSocket = engine.sockets[0] as TLSSocket;
  assert.equal(tlsSocket.alpnProtocol, 'http/1.1');
  assert.equal(tlsSocket.servername, false);
});
