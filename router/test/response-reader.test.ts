// The engine-side response reader: the same answer whichever way the bytes
// are split across reads, strict about what is not HTTP, and never reusing a
// connection that is out of step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseError, ResponseReader } from '../src/http1/response-reader.js';

interface Seen { status: number | null; headers: string[]; body: string; completions: boolean[] }

function reader(method = 'POST'): { r: ResponseReader; seen: Seen } {
  const seen: Seen = { status: null, headers: [], body: '', completions: [] };
  const r = new ResponseReader({
    head: (status, raw) => {
      seen.status = status;
      seen.headers = raw;
    },
    data: (chunk) => {
      seen.body += chunk.toString('latin1');
    },
    complete: (reusable) => seen.completions.push(reusable),
  }, 1024);
  r.expect(method);
  return { r, seen };
}

/** Feeds `text` in reads cut at `cuts`, and returns what was left over. */
function feedIn(r: ResponseReader, text: string, cuts: number[]): Buffer | null {
  let last = 0;
  let rest: Buffer | null = null;
  for (const cut of [...cuts, text.length]) {
    if (cut <= last) continue;
    rest = r.feed(Buffer.from(text.slice(last, cut), 'latin1'));
    last = cut;
  }
  return rest;
}

const SIZED = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';
const CHUNKED = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n'
  + '6\r\ndata: \r\n' + '9;ext=1\r\n{"x":1}\n\n\r\n' + '0\r\nx-trailer: 1\r\n\r\n';

test('a sized and a chunked answer read the same at every split into two and three reads', () => {
  for (const [text, body, type] of [[SIZED, '{"ok":true}', 'application/json'], [CHUNKED, 'data: {"x":1}\n\n', 'text/event-stream']] as const) {
    for (let i = 0; i <= text.length; i++) {
      for (const j of [i, Math.min(text.length, i + 1), Math.min(text.length, i + 7)]) {
        const { r, seen } = reader();
        assert.equal(feedIn(r, text, [i, j]), null);
        assert.equal(seen.status, 200, `split at ${i}, ${j}`);
        assert.equal(seen.headers[1], type);
        assert.equal(seen.body, body, `split at ${i}, ${j}`);
        assert.deepEqual(seen.completions, [true], `split at ${i}, ${j}`);
      }
    }
  }
});

test('interim 1xx answers are skipped; 204, HEAD and Content-Length 0 have no body', () => {
  let t = reader();
  feedIn(t.r, `HTTP/1.1 100 Continue\r\n\r\n${SIZED}`, []);
  assert.deepEqual([t.seen.status, t.seen.body, t.seen.completions], [200, '{"ok":true}', [true]]);
  t = reader();
  feedIn(t.r, 'HTTP/1.1 204 No Content\r\n\r\n', []);
  assert.deepEqual([t.seen.status, t.seen.completions], [204, [true]]);
  t = reader('HEAD');
  feedIn(t.r, 'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n', []);
  assert.deepEqual(t.seen.completions, [true]);
  t = reader();
  feedIn(t.r, 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', []);
  assert.deepEqual(t.seen.completions, [true]);
});

test('a body framed by the close completes at the end and the connection is not reused; Connection: close is honoured', () => {
  let t = reader();
  feedIn(t.r, 'HTTP/1.1 200 OK\r\n\r\npart one, ', []);
  t.r.feed(Buffer.from('part two'));
  assert.deepEqual(t.seen.completions, []);
  t.r.ended();
  assert.deepEqual([t.seen.body, t.seen.completions], ['part one, part two', [false]]);
  t = reader();
  feedIn(t.r, 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok', []);
  assert.deepEqual(t.seen.completions, [false]);
  t = reader();
  feedIn(t.r, 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok', []);
  assert.deepEqual(t.seen.completions, [false], 'HTTP/1.0 without keep-alive closes');
});

test('bytes beyond the framed body are returned and the connection is not reused', () => {
  const { r, seen } = reader();
  const rest = feedIn(r, `${SIZED}HTTP/1.1 200 OK\r\n`, []);
  assert.equal(rest?.toString(), 'HTTP/1.1 200 OK\r\n');
  assert.deepEqual(seen.completions, [false]);
});

test('a connection that closes before or during the answer is an UND_ERR_SOCKET error, a retryable connection failure', () => {
  for (const part of ['', 'HTTP/1.1 200 OK\r\ncont', SIZED.slice(0, -3), CHUNKED.slice(0, -10)]) {
    const { r, seen } = reader();
    feedIn(r, part, []);
    assert.throws(() => r.ended(), (err: ResponseError) => err.code === 'UND_ERR_SOCKET', JSON.stringify(part));
    assert.deepEqual(seen.completions, []);
  }
});

test('what is not HTTP is an engine fault with an HPE_ code, and an oversized head is refused', () => {
  const bad: [string, string][] = [
    ['SSH-2.0-OpenSSH\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['HTTP/1.1 200 OK\r\n folded: value\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\nno colon\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\nbare: lf\nx: y\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\nbare: cr\rx: y\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\ncontrol: a\x01b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\nx : y\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\nab\r\n', 'HPE_LF_EXPECTED'],
    [`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(2000)}\r\n\r\n`, 'UND_ERR_HEADERS_OVERFLOW'],
    [`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(2000)}`, 'UND_ERR_HEADERS_OVERFLOW'],
  ];
  for (const [text, code] of bad) {
    for (const cuts of [[], [5], [text.length - 3]]) {
      const { r } = reader();
      assert.throws(() => feedIn(r, text, cuts), (err: ResponseError) => err.code === code, `${JSON.stringify(text.slice(0, 50))} at ${cuts.join(',')}`);
    }
  }
});

test('header values are relayed as sent, surrounding spaces and tabs dropped, obs-text bytes kept', () => {
  const { r, seen } = reader();
  feedIn(r, 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-empty:\r\nx-padded: \t a  b \t\r\nx-latin1: caf\xe9\r\n\r\n', []);
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.headers, ['content-length', '0', 'x-empty', '', 'x-padded', 'a  b', 'x-latin1', 'caf\xe9']);
  assert.deepEqual(seen.completions, [true]);
});
