// HTTP/1.1 on a raw socket, byte by byte as a client sends it: for tests of
// what the router does with exactly these bytes (pipelining, half-close,
// malformed heads), which no HTTP client library would send.
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const MODEL = 'facebook/opt-125m';

/** A POST head and body with a Content-Length, as OpenAI clients send it. */
export function post(body: string, extra: string[] = [], path = '/v1/completions'): string {
  return [`POST ${path} HTTP/1.1`, 'Host: router', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...extra, '', body].join('\r\n');
}

/** The same request with a chunked body (the router's node:http path), the body in one chunk unless `open`. */
export function chunkedPost(body: string, extra: string[] = [], open = false, path = '/v1/completions'): string {
  const head = [`POST ${path} HTTP/1.1`, 'Host: router', 'Content-Type: application/json', 'Transfer-Encoding: chunked', ...extra, '', ''].join('\r\n');
  return `${head}${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n${open ? '' : '0\r\n\r\n'}`;
}

export const completion = (prompt: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: MODEL, prompt, max_tokens: 2, ...extra });

/** One whole answer at the start of `data` (sized or chunked), or null while it is still arriving. */
export function parseAnswer(data: Buffer): { answer: Answer; used: number } | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const status = Number(statusLine?.split(' ')[1]);
  const pos = end + 4;
  // An interim answer (100 Continue) has no body.
  if (status >= 100 && status < 200) return { answer: { status, headers, body: '' }, used: pos };
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (data.length < pos + n) return null;
    return { answer: { status, headers, body: data.subarray(pos, pos + n).toString() }, used: pos + n };
  }
  if (headers['transfer-encoding'] !== 'chunked') {
    // Delimited by the close of the connection: the caller reads it whole once closed.
    return null;
  }
  let body = '';
  let at = pos;
  for (;;) {
    const line = data.indexOf('\r\n', at);
    if (line < 0) return null;
    const size = parseInt(data.subarray(at, line).toString(), 16);
    if (data.length < line + 2 + size + 2) return null;
    body += data.subarray(line + 2, line + 2 + size).toString();
    at = line + 2 + size + 2;
    if (size === 0) return { answer: { status, headers, body }, used: at };
  }
}

/** A raw connection that reads whole HTTP/1.1 answers (sized or chunked) in order. */
export class RawClient {
  private data = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  closed = false;
  readonly socket: Socket;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.waiting?.();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Everything received and not yet taken as an answer. */
  unread(): string {
    return this.data.toString('latin1');
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.unread().slice(0, 500))}`);
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      this.waiting = resolve;
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms; unread: ${JSON.stringify(this.unread().slice(0, 500))}`)), timeoutMs);
    }).finally(() => clearTimeout(timer));
    this.waiting = null;
  }

  /** The next whole answer; fails if none comes within `timeoutMs` (the router must not make a client wait for a timeout to learn its fate). */
  async answer(timeoutMs = 5000): Promise<Answer> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseAnswer(this.data);
      if (parsed) {
        this.data = this.data.subarray(parsed.used);
        return parsed.answer;
      }
      await this.more(Math.max(1, end - Date.now()));
    }
  }

  /** Resolves once the server has closed the connection, with what came before the close. */
  async closedByServer(timeoutMs = 5000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > end) throw new Error(`the server kept the connection open for ${timeoutMs} ms`);
      await this.more(Math.max(1, end - Date.now())).catch((err: Error) => {
        if (!this.closed) throw err;
      });
    }
    return this.unread();
  }
}
