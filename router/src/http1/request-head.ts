// A strict reader for the one request shape that dominates a router's
// traffic: an HTTP/1.1 POST with a Content-Length body, as OpenAI clients
// send. Anything else, or anything doubtful (repeated Content-Length,
// Transfer-Encoding, Expect, obs-fold, bytes outside visible ASCII, a missing
// or repeated Host, an oversized head) is "unsupported": Node's own HTTP
// parser then handles the connection, so the lenient cases never get a
// second, different interpretation here.
import { COLON, CONTENT_LENGTH, CR, HT, LF, SP, TARGET_BYTE, TOKEN_BYTE, VALUE_BYTE } from './header-bytes.js';

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
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Reads the head at the start of `buf`; `maxHeadBytes` as Node's --max-http-header-size (16 KiB by default). */
export function parseRequestHead(buf: Buffer, maxHeadBytes = 16_384): RequestHead {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return buf.length > maxHeadBytes ? UNSUPPORTED : INCOMPLETE;
  if (end > maxHeadBytes) return UNSUPPORTED;
  // One string for the whole head: slicing it is cheaper than a Buffer-to-string call per field.
  const text = buf.toString('latin1', 0, end + 2);
  if (!text.startsWith('POST /')) return UNSUPPORTED;
  let i = 5;
  while (i < end && TARGET_BYTE[text.charCodeAt(i)]) i++;
  const url = text.slice(5, i);
  if (!text.startsWith(' HTTP/1.1\r\n', i)) return UNSUPPORTED;
  i += 11;
  const rawHeaders: string[] = [];
  let contentLength = -1;
  let hosts = 0;
  let keepAlive = true;
  const headEnd = text.length;
  while (i < headEnd) {
    const nameStart = i;
    while (TOKEN_BYTE[text.charCodeAt(i)]) i++;
    if (i === nameStart || text.charCodeAt(i) !== COLON) return UNSUPPORTED;
    const name = text.slice(nameStart, i);
    i++;
    while (text.charCodeAt(i) === SP || text.charCodeAt(i) === HT) i++;
    const valueStart = i;
    while (VALUE_BYTE[text.charCodeAt(i)]) i++;
    if (text.charCodeAt(i) !== CR || text.charCodeAt(i + 1) !== LF) return UNSUPPORTED;
    let valueEnd = i;
    while (valueEnd > valueStart && (text.charCodeAt(valueEnd - 1) === SP || text.charCodeAt(valueEnd - 1) === HT)) valueEnd--;
    const value = text.slice(valueStart, valueEnd);
    i += 2;
    // Only names of these lengths can matter: host, expect, upgrade, connection, content-length, transfer-encoding.
    const n = name.length;
    if (n === 4 || n === 6 || n === 7 || n === 10 || n === 14 || n === 17) {
      switch (name.toLowerCase()) {
        case 'content-length':
          if (contentLength >= 0 || !CONTENT_LENGTH.test(value)) return UNSUPPORTED;
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
    }
    rawHeaders.push(name, value);
  }
  if (contentLength < 0 || hosts !== 1) return UNSUPPORTED;
  return { kind: 'request', method: 'POST', url, rawHeaders, contentLength, keepAlive, headBytes: end + 4 };
}

const PREFIX = 'POST /';

/**
 * Checks a head arriving in pieces, each byte once, so that bytes which can
 * never become a strict head (bare LF, binary junk such as a TLS ClientHello,
 * a method other than POST) are known at once instead of after a timeout,
 * and finds where the head ends. The full parse happens once, on the whole head.
 */
export class HeadCheck {
  private seen = 0;
  private lineLength = 0;
  private afterCR = false;

  /** Resets for the next request's head. */
  reset(): void {
    this.seen = 0;
    this.lineLength = 0;
    this.afterCR = false;
  }

  /** Bytes examined so far (the work done: linear in the head's size however it arrives). */
  get examined(): number {
    return this.seen;
  }

  /** Feeds the next bytes: -1 = still a possible head, -2 = never a strict one, else the head's length in bytes (blank line included) counted from its start. */
  feed(bytes: Buffer): number {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      const at = this.seen++;
      if (at < PREFIX.length) {
        if (b !== PREFIX.charCodeAt(at)) return -2;
        this.lineLength++;
        continue;
      }
      if (this.afterCR) {
        if (b !== LF) return -2;
        this.afterCR = false;
        if (this.lineLength === 0) return at + 1;
        this.lineLength = 0;
      } else if (b === CR) {
        this.afterCR = true;
      } else if (b === LF || !VALUE_BYTE[b]) {
        return -2;
      } else {
        this.lineLength++;
      }
    }
    return -1;
  }
}
