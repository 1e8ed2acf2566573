// The fast path's strict request reader: the plain POST it takes, and every
// doubtful shape it leaves to Node's HTTP parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadCheck, parseRequestHead } from '../src/http1/request-head.js';

const BODY = '{"model":"m","prompt":"hi"}';
const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const plain = ['POST /v1/completions HTTP/1.1', 'Host: router:8001', 'Content-Type: application/json', `Content-Length: ${BODY.length}`];

test('an OpenAI client\'s POST is read: target, headers as sent, body length, keep-alive, where the body starts', () => {
  const buf = Buffer.concat([head([...plain, 'Authorization:  Bearer k  ', 'X-Stainless-Lang: js']), Buffer.from(BODY)]);
  const r = parseRequestHead(buf);
  assert.equal(r.kind, 'request');
  if (r.kind !== 'request') return;
  assert.equal(r.url, '/v1/completions');
  assert.deepEqual(r.rawHeaders, ['Host', 'router:8001', 'Content-Type', 'application/json', 'Content-Length', String(BODY.length), 'Authorization', 'Bearer k', 'X-Stainless-Lang', 'js']);
  assert.equal(r.contentLength, BODY.length);
  assert.equal(r.keepAlive, true);
  assert.equal(buf.subarray(r.headBytes).toString(), BODY);
});

test('Connection: close is honoured, in any case', () => {
  const r = parseRequestHead(head([...plain, 'connection: Close']));
  assert.ok(r.kind === 'request' && r.keepAlive === false);
});

test('a head still arriving waits, unless it is already over the size limit', () => {
  assert.equal(parseRequestHead(Buffer.from('POST /v1/completions HTTP/1.1\r\nHost: x\r\n')).kind, 'incomplete');
  assert.equal(parseRequestHead(Buffer.from(`POST /v1/completions HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}`)).kind, 'unsupported');
  assert.equal(parseRequestHead(head([...plain, `X-Big: ${'a'.repeat(20_000)}`])).kind, 'unsupported');
});

test('every shape with room for doubt goes to Node\'s parser', () => {
  const cases: [string, string[]][] = [
    ['GET', ['GET /health HTTP/1.1', 'Host: x']],
    ['HTTP/1.0', ['POST /v1/completions HTTP/1.0', 'Host: x', 'Content-Length: 0']],
    ['chunked upload', ['POST /v1/completions HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked']],
    ['chunked and sized', [...plain, 'Transfer-Encoding: chunked']],
    ['two lengths', [...plain, 'Content-Length: 5']],
    ['signed length', ['POST /v1/completions HTTP/1.1', 'Host: x', 'Content-Length: +5']],
    ['no length', ['POST /v1/completions HTTP/1.1', 'Host: x']],
    ['no host', ['POST /v1/completions HTTP/1.1', 'Content-Length: 0']],
    ['two hosts', [...plain, 'Host: other']],
    ['obs-fold', [...plain, 'X-A: one', ' two']],
    ['space before colon', [...plain, 'X-A : one']],
    ['control byte in a value', [...plain, 'X-A: one\x01two']],
    ['bare LF inside', [...plain, 'X-A: one\ntwo: three']],
    ['8-bit byte in a value', [...plain, 'X-A: caf\xe9']],
    ['absolute-form target', ['POST http://x/v1/completions HTTP/1.1', 'Host: x', 'Content-Length: 0']],
    ['double space in the request line', ['POST  /v1/completions HTTP/1.1', 'Host: x', 'Content-Length: 0']],
    ['Expect', [...plain, 'Expect: 100-continue']],
    ['Upgrade', [...plain, 'Upgrade: websocket', 'Connection: Upgrade']],
    ['leading blank line', ['', ...plain]],
  ];
  for (const [what, lines] of cases) assert.equal(parseRequestHead(head(lines)).kind, 'unsupported', what);
});

test('a head arriving a byte at a time is checked in linear work, and found complete at its blank line', () => {
  const full = Buffer.concat([head([...plain, `X-Pad: ${'p'.repeat(16_000)}`]), Buffer.from(BODY)]);
  const check = new HeadCheck();
  let end = -1;
  let fed = 0;
  for (; fed < full.length && end === -1; fed++) end = check.feed(full.subarray(fed, fed + 1));
  assert.equal(end, full.length - BODY.length, 'the head ends where the body starts');
  assert.equal(check.examined, fed, 'each byte examined once, not the whole buffer again on every read');
});

test('bytes that can never become a strict head are known at the first wrong byte', () => {
  const at = (text: string | Buffer) => {
    const check = new HeadCheck();
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) if (check.feed(bytes.subarray(i, i + 1)) === -2) return i;
    return -1;
  };
  assert.equal(at('POST /v1/completions HTTP/1.1\nHost: x\n'), 29, 'a bare LF');
  assert.equal(at(Buffer.from('16030100a5010000a10303', 'hex')), 0, 'a TLS ClientHello');
  assert.equal(at('GET /health HTTP/1.1\r\n'), 0, 'not a POST: Node\'s server takes it at once');
  assert.equal(at('POST /v1/completions HTTP/1.1\r\nX: \x01\r\n'), 34, 'a control character');
  assert.equal(at('POST /v1/completions HTTP/1.1\r\nX: y\rz'), 36, 'a CR without its LF');
  assert.equal(at('POST /v1/completions HTTP/1.1\r\nHost: x\r\n'), -1, 'a proper head still arriving');
});
