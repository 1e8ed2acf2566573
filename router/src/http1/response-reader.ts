// Reads an engine's HTTP/1.1 responses off a keep-alive connection: the head
// parsed in place, the body framed by Content-Length, chunked encoding or the
// connection's end, and handed on piece by piece without copying. Strict:
// anything that is not plain HTTP/1.x (obs-fold, a bare LF, conflicting
// lengths, an oversized head) is an error with an llhttp-style HPE_ code, an
// engine fault. Pure: no sockets, so every split of the bytes is testable.
import { COLON, CONTENT_LENGTH, CR, FIELD_VALUE_BYTE, HT, LF, SP, TOKEN_BYTE } from './header-bytes.js';

export interface ResponseEvents {
  /** Status and headers as a flat name, value list (latin1, as sent). */
  head(status: number, rawHeaders: string[]): void;
  data(chunk: Buffer): void;
  /** The response is complete; `reusable` when the connection may carry another request. */
  complete(reusable: boolean): void;
}

export class ResponseError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const CRLF2 = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;

type State =
  | 'head'
  | 'length' // Content-Length bytes to go
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end' // the CRLF after a chunk's data
  | 'trailers'
  | 'until-close'
  | 'done';

export class ResponseReader {
  private state: State = 'done';
  private pieces: Buffer[] = [];
  private pending = 0;
  private remaining = 0;
  private keepAlive = true;
  private noBody = false;
  /** The engine's Keep-Alive timeout, from the last answer that gave one. */
  keepAliveHintMs = Infinity;
  /** The response just completed: feed tells its owner once the bytes of this read are accounted for. */
  private finished = false;

  constructor(private readonly events: ResponseEvents, private readonly maxHeadBytes: number) {}

  /** A new request went out: its response is expected next (no body for HEAD). */
  expect(method: string): void {
    this.state = 'head';
    this.noBody = method === 'HEAD';
    this.pieces = [];
    this.pending = 0;
  }

  /**
   * Feeds bytes from the connection. Bytes after a complete response (the
   * engine sent more than it framed) make the connection unusable: they are
   * returned, and the response completes as not reusable.
   */
  feed(data: Buffer): Buffer | null {
    let at = 0;
    while (at < data.length && this.state !== 'done') {
      switch (this.state) {
        case 'head': {
          const used = this.readHead(data, at);
          if (used < 0) return null;
          at = used;
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, data.length - at);
          this.remaining -= n;
          this.events.data(n === data.length ? data : data.subarray(at, at + n));
          at += n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case 'until-close':
          this.events.data(at === 0 ? data : data.subarray(at));
          return null;
        case 'chunk-data': {
          const n = Math.min(this.remaining, data.length - at);
          this.remaining -= n;
          this.events.data(data.subarray(at, at + n));
          at += n;
          if (this.remaining === 0) this.state = 'chunk-end';
          break;
        }
        default: {
          const line = this.readLine(data, at);
          if (line === null) return null;
          at = line.next;
          this.onLine(line.text);
        }
      }
    }
    const rest = at < data.length ? data.subarray(at) : null;
    if (this.finished) {
      this.finished = false;
      this.events.complete(this.keepAlive && rest === null);
    }
    return rest;
  }

  /** The connection ended: a body framed by the close is complete; anything else was cut. */
  ended(): void {
    if (this.state === 'until-close') {
      this.state = 'done';
      this.events.complete(false);
      return;
    }
    if (this.state === 'done') return;
    const before = this.state === 'head';
    this.state = 'done';
    throw new ResponseError('UND_ERR_SOCKET', before ? 'the engine closed the connection before answering' : 'the engine closed the connection in the middle of its answer');
  }

  private finish(): void {
    this.state = 'done';
    this.finished = true;
  }

  /** Returns where the body starts, or -1 when the head is not all here yet. */
  private readHead(data: Buffer, at: number): number {
    if (this.pieces.length === 0) {
      const end = data.indexOf(CRLF2, at);
      return end < 0 ? this.keep(data.subarray(at)) : this.parseHead(data, at, end);
    }
    // The head came in pieces: join what is kept with this read (the terminator may straddle them).
    const kept = this.pending;
    const bytes = Buffer.concat([...this.pieces, data.subarray(at)]);
    this.pieces = [];
    this.pending = 0;
    const end = bytes.indexOf(CRLF2, Math.max(0, kept - 3));
    if (end < 0) return this.keep(bytes);
    // Where the body starts in `data`: what of the head came from this read.
    return at + (this.parseHead(bytes, 0, end) - kept);
  }

  private keep(piece: Buffer): number {
    this.pending += piece.length;
    if (this.pending > this.maxHeadBytes) throw new ResponseError('UND_ERR_HEADERS_OVERFLOW', `the engine's response head is over ${this.maxHeadBytes} bytes`);
    // A copy: the socket may reuse its buffer.
    this.pieces.push(Buffer.from(piece));
    return -1;
  }

  /** Parses the head in bytes[start, end) and returns where its blank line ends. */
  private parseHead(bytes: Buffer, start: number, end: number): number {
    const next = end + 4;
    if (end - start > this.maxHeadBytes) throw new ResponseError('UND_ERR_HEADERS_OVERFLOW', `the engine's response head is over ${this.maxHeadBytes} bytes`);
    // One string for the whole head (its last line's CRLF included), scanned once: this is on every answer's path.
    const text = bytes.toString('latin1', start, end + 2);
    const lineEnd = text.indexOf('\r\n');
    const status = STATUS_LINE.exec(text.slice(0, lineEnd));
    if (!status) throw new ResponseError('HPE_INVALID_CONSTANT', `the engine's answer is not HTTP/1.x: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 40)))}`);
    const code = Number(status[2]);
    const raw: string[] = [];
    let length = -1;
    let chunked = false;
    let encoded = false;
    let keepAlive = status[1] === '1';
    const headEnd = text.length;
    let i = lineEnd + 2;
    while (i < headEnd) {
      const nameStart = i;
      while (TOKEN_BYTE[text.charCodeAt(i)]) i++;
      const nameEnd = i;
      let ok = nameEnd > nameStart && text.charCodeAt(i) === COLON;
      if (ok) {
        i++;
        while (text.charCodeAt(i) === SP || text.charCodeAt(i) === HT) i++;
        while (FIELD_VALUE_BYTE[text.charCodeAt(i)]) i++;
        ok = text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF;
      }
      if (!ok) {
        const line = text.slice(nameStart, text.indexOf('\r\n', nameStart));
        throw new ResponseError('HPE_INVALID_HEADER_TOKEN', `the engine sent a malformed header line: ${JSON.stringify(line.slice(0, 40))}`);
      }
      let valueStart = nameEnd + 1;
      while (text.charCodeAt(valueStart) === SP || text.charCodeAt(valueStart) === HT) valueStart++;
      let valueEnd = i;
      while (valueEnd > valueStart && (text.charCodeAt(valueEnd - 1) === SP || text.charCodeAt(valueEnd - 1) === HT)) valueEnd--;
      i += 2;
      const name = text.slice(nameStart, nameEnd);
      const value = text.slice(valueStart, valueEnd);
      raw.push(name, value);
      switch (name.length) {
        case 10:
          if (name.toLowerCase() === 'connection') {
            const v = value.toLowerCase();
            if (v.includes('close')) keepAlive = false;
            else if (v.includes('keep-alive')) keepAlive = true;
          } else if (name.toLowerCase() === 'keep-alive') {
            const timeout = /timeout=(\d+)/i.exec(value);
            if (timeout) this.keepAliveHintMs = Number(timeout[1]) * 1000;
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            if (!CONTENT_LENGTH.test(value) || (length >= 0 && length !== Number(value))) throw new ResponseError('HPE_UNEXPECTED_CONTENT_LENGTH', `the engine sent an invalid Content-Length: ${JSON.stringify(value)}`);
            length = Number(value);
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            encoded = true;
            chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          }
          break;
      }
    }
    if (encoded && length >= 0) throw new ResponseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'the engine sent both Content-Length and Transfer-Encoding');
    if (code >= 100 && code < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      return next;
    }
    this.keepAlive = keepAlive;
    this.events.head(code, raw);
    if (this.noBody || code === 204 || code === 304 || (length === 0 && !encoded)) {
      this.finish();
    } else if (chunked) {
      this.state = 'chunk-size';
    } else if (length > 0) {
      this.remaining = length;
      this.state = 'length';
    } else {
      this.keepAlive = false;
      this.state = 'until-close';
    }
    return next;
  }

  /** A CRLF-ended line of chunked framing (short: sizes and trailers), or null when it is not all here. */
  private readLine(data: Buffer, at: number): { text: string; next: number } | null {
    const lf = data.indexOf(LF, at);
    if (lf < 0) {
      this.keep(data.subarray(at));
      return null;
    }
    let text = data.toString('latin1', at, lf);
    if (this.pieces.length > 0) {
      text = Buffer.concat(this.pieces).toString('latin1') + text;
      this.pieces = [];
      this.pending = 0;
    }
    if (!text.endsWith('\r')) throw new ResponseError('HPE_LF_EXPECTED', 'the engine ended a chunk line with a bare LF');
    return { text: text.slice(0, -1), next: lf + 1 };
  }

  private onLine(line: string): void {
    if (this.state === 'chunk-end') {
      if (line !== '') throw new ResponseError('HPE_INVALID_CHUNK_SIZE', 'the engine sent more chunk data than the chunk size said');
      this.state = 'chunk-size';
      return;
    }
    if (this.state === 'trailers') {
      if (line === '') this.finish();
      return;
    }
    const size = line.split(';', 1)[0]?.trim() ?? '';
    if (!/^[0-9A-Fa-f]{1,12}$/.test(size)) throw new ResponseError('HPE_INVALID_CHUNK_SIZE', `the engine sent an invalid chunk size: ${JSON.stringify(line.slice(0, 20))}`);
    this.remaining = parseInt(size, 16);
    this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
  }
}
