// The one pass over a client's raw headers: what the router keeps for itself
// and what it sends on to the engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanHeaders } from '../src/front/incoming-headers.js';

test('the router\'s own headers are read whatever their case, and only end-to-end headers go on', () => {
  const h = scanHeaders([
    'Host', 'router:8001', 'Content-Type', 'application/json', 'Content-Length', '42', 'Authorization', 'Bearer client-key',
    'X-Request-Id', 'abc', 'Connection', 'keep-alive', 'Transfer-Encoding', 'chunked', 'X-User-Id', 'u7', 'User-Agent', 'openai/6', 'Accept', 'text/event-stream',
  ], 'x-user-id');
  assert.equal(h.requestId, 'abc');
  assert.equal(h.authorization, 'Bearer client-key');
  assert.equal(h.contentLength, 42);
  assert.equal(h.session, 'u7');
  assert.equal(h.contentType, 'application/json');
  assert.equal(h.hosts, 1);
  assert.deepEqual(h.forward, ['X-User-Id', 'u7', 'User-Agent', 'openai/6', 'Accept', 'text/event-stream'], 'no hop-by-hop header, no client key, nothing the router sets');
});

test('absent headers read as absent, and the first of a repeated id wins', () => {
  const none = scanHeaders([], 'x-session');
  assert.deepEqual(none, { requestId: null, authorization: null, contentType: null, contentLength: -1, hosts: 0, session: null, forward: [] });
  const repeated = scanHeaders(['x-request-id', 'first', 'x-request-id', 'second', 'x-session', 's1', 'x-session', 's2'], 'x-session');
  assert.equal(repeated.requestId, 'first');
  assert.equal(repeated.session, 's1');
  assert.deepEqual(repeated.forward, ['x-session', 's1', 'x-session', 's2']);
});

test('Expect is the client\'s conversation with the router: never sent on (undici would refuse it, and the engine be blamed)', () => {
  const h = scanHeaders(['Host', 'a', 'Expect', '100-continue', 'Proxy-Connection', 'keep-alive', 'Host', 'b'], 'x-user-id');
  assert.deepEqual(h.forward, []);
  assert.equal(h.hosts, 2, 'two Host lines are counted, so that the router can refuse them');
});
