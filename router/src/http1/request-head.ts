// A strict reader for the one request shape that dominates a router's
// traffic: an HTTP/1.1 POST with a Content-Length body, as OpenAI clients
// send. Anything else, or anything doubtful (repeated Content-Length,
// Transfer-Encoding, Expect, obs-fold, bytes outside visible ASCII, a missing
// or repeated Host, an oversized head) is "unsupported": Node's own HTTP
// parser then handles the connection, so the lenient cases never get a
// second, different interpretation here.

export type RequestHead =
  | { kind: 'incomplete' }
  | { kind: 'unsupported' }
  | {
    kind: 'request';
    method: 'POST';
    url: string;
    /** Name, value, name, value… as sent (values without surrounding whitespace). */
    rawHeaders: string[];
    contentLength: number;
    /** False when the client sent Connection: close. */
    keepAlive: boolean;
    /** Bytes of the head, blank line included: the body starts there. */
    headBytes: number;
  };

const INCOMPLETE: RequestHead = { kind: 'incomplete' };
const UNSUPPORTED: RequestHead = { kind: 'unsupported' };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
const DIGITS = /^\d{1,15}$/;

/** Reads the head at the start of `buf`; `maxHeadBytes` as Node's --max-http-header-size (16 KiB by default). */
export function parseRequestHead(buf: Buffer, maxHeadBytes = 16_384): RequestHead {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) return buf.length > maxHeadBytes ? UNSUPPORTED : INCOMPLETE;
  if (end > maxHeadBytes) return UNSUPPORTED;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const requestLine = (lines[0] as string).split(' ');
  const url = requestLine[1] ?? '';
  if (requestLine.length !== 3 || requestLine[0] !== 'POST' || requestLine[2] !== 'HTTP/1.1' || !ORIGIN_FORM.test(url)) return UNSUPPORTED;
  const rawHeaders: string[] = [];
  let contentLength = -1;
  let hosts = 0;
  let keepAlive = true;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) return UNSUPPORTED;
    const name = line.slice(0, colon);
    const rawValue = line.slice(colon + 1);
    if (!TOKEN.test(name) || !FIELD_VALUE.test(rawValue)) return UNSUPPORTED;
    const value = rawValue.trim();
    switch (name.toLowerCase()) {
      case 'content-length':
        if (contentLength >= 0 || !DIGITS.test(value)) return UNSUPPORTED;
        contentLength = Number(value);
        break;
      case 'host':
        hosts++;
        break;
      case 'connection': {
        const v = value.toLowerCase();
        if (v === 'close') keepAlive = false;
        else if (v !== 'keep-alive') return UNSUPPORTED;
        break;
      }
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
        return UNSUPPORTED;
    }
    rawHeaders.push(name, value);
  }
  if (contentLength < 0 || hosts !== 1) return UNSUPPORTED;
  return { kind: 'request', method: 'POST', url, rawHeaders, contentLength, keepAlive, headBytes: end + 4 };
}
