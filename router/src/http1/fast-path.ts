// The router's fast path for the request shape that dominates its traffic
// (an HTTP/1.1 POST with a Content-Length body): read off the socket and
// answered on it directly, without Node's per-request IncomingMessage and
// ServerResponse streams, which cost about as much CPU as the whole rest of
// the proxy (see router/README.md, Performance). The first request a strict
// reader does not accept hands the connection, unread bytes included, to
// Node's own HTTP server for good: GETs, chunked uploads, Expect, HTTP/1.0
// and anything malformed get Node's handling and Node's error answers.
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientResponse } from './client-response.js';
import { parseRequestHead } from './request-head.js';

export interface FastRequest {
  method: 'POST';
  url: string;
  rawHeaders: string[];
  /** The whole body; null when its declared length is over the limit (it is read and dropped, not kept). */
  body: Buffer | null;
  response: ClientResponse;
}

export interface FastPathLimits {
  /** Bodies declared larger are not read: the router answers 413 and the connection closes. */
  maxBodySize: number;
  /** An idle keep-alive connection closes after this long, as Node's keepAliveTimeout. */
  keepAliveMs: number;
  /** A request head must arrive within this long, as Node's headersTimeout. */
  headersTimeoutMs: number;
}

let dateSecond = 0;
let dateText = '';
/** The Date header, formatted once a second as Node does. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function uncork(socket: Socket): void {
  socket.uncork();
}

class FastResponse implements ClientResponse {
  headersSent = false;
  writableFinished = false;
  private head: string | null = null;
  private chunked = false;
  private closeListener: (() => void) | null = null;
  private drainListener: (() => void) | null = null;

  constructor(private readonly connection: FastConnection, readonly keepAlive: boolean) {}

  writeHead(status: number, headers: string[]): this {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let sized = false;
    let dated = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const lower = name.toLowerCase();
      if (lower === 'content-length') sized = true;
      else if (lower === 'date') dated = true;
      head += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (!sized && status !== 204 && status !== 304) {
      this.chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    if (!dated) head += `date: ${httpDate()}\r\n`;
    head += this.keepAlive ? 'connection: keep-alive\r\nkeep-alive: timeout=65\r\n\r\n' : 'connection: close\r\n\r\n';
    this.head = head;
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    if (this.head === null) return;
    const socket = this.connection.socket;
    // Corked until the next tick, as Node's ServerResponse does: a first chunk already here goes out with the head.
    socket.cork();
    socket.write(this.head, 'latin1');
    this.head = null;
    process.nextTick(uncork, socket);
  }

  write(chunk: Buffer): boolean {
    const socket = this.connection.socket;
    if (chunk.length === 0) return !socket.writableNeedDrain;
    if (this.head !== null && !this.chunked) {
      // A sized answer's head and body in one buffer: one plain write, no cork or writev.
      const headBytes = Buffer.byteLength(this.head, 'latin1');
      const out = Buffer.allocUnsafe(headBytes + chunk.length);
      out.write(this.head, 0, 'latin1');
      chunk.copy(out, headBytes);
      this.head = null;
      return socket.write(out);
    }
    // One writev for head, chunk framing and data.
    socket.cork();
    if (this.head !== null) {
      socket.write(this.head, 'latin1');
      this.head = null;
    }
    if (this.chunked) {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      socket.write('\r\n', 'latin1');
    } else socket.write(chunk);
    socket.uncork();
    return !socket.writableNeedDrain;
  }

  end(body?: string | Buffer): this {
    if (this.writableFinished) return this;
    const socket = this.connection.socket;
    socket.cork();
    if (body !== undefined) this.write(typeof body === 'string' ? Buffer.from(body) : body);
    this.flushHeaders();
    if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
    socket.uncork();
    this.writableFinished = true;
    this.connection.answered();
    return this;
  }

  destroy(): this {
    this.connection.socket.destroy();
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    // One listener of each at a time is all a proxied request registers.
    if (event === 'close') this.closeListener = listener;
    else this.drainListener = listener;
    return this;
  }

  clientGone(): void {
    const l = this.closeListener;
    this.closeListener = null;
    l?.();
  }

  drained(): void {
    const l = this.drainListener;
    this.drainListener = null;
    l?.();
  }
}

class FastConnection {
  /** Bytes read and not yet used: the start of the next request. */
  private pending: Buffer | null = null;
  /** The request being read: its head is parsed, its body not all here yet. */
  private reading: { url: string; rawHeaders: string[]; contentLength: number; keepAlive: boolean; chunks: Buffer[]; size: number } | null = null;
  private response: FastResponse | null = null;
  /** Bytes of an over-limit body still to be read and dropped. */
  private discard = 0;
  private headStartedAt = 0;
  private clientEnded = false;
  /** Set once the connection is to close: nothing more is read from it. */
  private closing = false;
  /** The server is shutting down: the connection closes once its answer in progress is out. */
  private draining = false;
  /** The socket events this connection listens to, removed as one when it is handed over. */
  private readonly listeners: [string, (data: Buffer) => void][] = [
    ['data', (d) => this.received(d)],
    ['end', () => this.ended()],
    ['close', () => {
      this.open.delete(this);
      this.response?.clientGone();
    }],
    ['drain', () => this.response?.drained()],
    ['timeout', () => this.timedOut()],
    ['error', () => this.socket.destroy()],
  ];

  constructor(readonly socket: Socket, private readonly handle: (r: FastRequest) => void, private readonly fallback: (socket: Socket) => void, private readonly limits: FastPathLimits, private readonly open: Set<FastConnection>) {
    open.add(this);
    for (const [event, listener] of this.listeners) socket.on(event, listener);
    socket.setTimeout(limits.keepAliveMs);
  }

  private received(data: Buffer): void {
    // Bytes after the request that closes the connection are not requests: none is kept.
    if (this.closing) return;
    if (this.discard > 0) {
      if (data.length <= this.discard) {
        this.discard -= data.length;
        return;
      }
      data = data.subarray(this.discard);
      this.discard = 0;
    }
    if (this.pending === null && this.reading === null) this.headStartedAt = Date.now();
    this.pending = this.pending === null ? data : Buffer.concat([this.pending, data]);
    if (this.response === null) return this.next();
    // A pipelined request waits for the answer in progress; a client that floods waits for reading to resume.
    if (this.pending.length > this.limits.maxBodySize) this.socket.pause();
  }

  /** Reads what has arrived: finishes the body being read, or starts the next request. */
  private next(): void {
    while (this.response === null && this.pending !== null && !this.closing) {
      if (this.reading === null) {
        const head = parseRequestHead(this.pending);
        if (head.kind === 'unsupported') return this.handOver();
        if (head.kind === 'incomplete') {
          if (Date.now() - this.headStartedAt > this.limits.headersTimeoutMs) this.socket.destroy();
          return;
        }
        let rest = this.pending.length > head.headBytes ? this.pending.subarray(head.headBytes) : null;
        if (head.contentLength > this.limits.maxBodySize) {
          // Too large to keep: its bytes are dropped as they come, so the connection stays in step.
          this.discard = head.contentLength;
          if (rest !== null) {
            const dropped = Math.min(rest.length, this.discard);
            this.discard -= dropped;
            rest = rest.length > dropped ? rest.subarray(dropped) : null;
          }
          this.pending = rest;
          this.dispatch(head.url, head.rawHeaders, null, head.keepAlive && !this.clientEnded);
          continue;
        }
        this.reading = { url: head.url, rawHeaders: head.rawHeaders, contentLength: head.contentLength, keepAlive: head.keepAlive, chunks: [], size: 0 };
        this.pending = rest;
        if (rest === null && head.contentLength > 0) return;
      }
      const r = this.reading;
      const need = r.contentLength - r.size;
      const data = this.pending;
      if (data !== null) {
        const take = Math.min(need, data.length);
        r.chunks.push(take === data.length ? data : data.subarray(0, take));
        r.size += take;
        this.pending = take < data.length ? data.subarray(take) : null;
      }
      if (r.size < r.contentLength) return;
      this.reading = null;
      const body = r.chunks.length === 1 ? (r.chunks[0] as Buffer) : Buffer.concat(r.chunks, r.size);
      this.dispatch(r.url, r.rawHeaders, body, r.keepAlive && !this.clientEnded);
    }
  }

  private dispatch(url: string, rawHeaders: string[], body: Buffer | null, keepAlive: boolean): void {
    const response = new FastResponse(this, keepAlive);
    this.response = response;
    this.handle({ method: 'POST', url, rawHeaders, body, response });
  }

  /** Called by the response once it has ended. */
  answered(): void {
    const keepAlive = (this.response as FastResponse).keepAlive;
    this.response = null;
    if (!keepAlive || this.draining) {
      this.closing = true;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending !== null) {
      this.headStartedAt = Date.now();
      this.next();
    } else if (this.clientEnded) this.socket.end();
  }

  /** Closes the connection now if it is idle, else once its answer is out. */
  drain(): void {
    this.draining = true;
    if (this.response === null) {
      this.closing = true;
      this.socket.end();
    }
  }

  private ended(): void {
    this.clientEnded = true;
    // Half-closed by the client: an answer in progress still goes out, then the connection closes.
    if (this.response === null) this.socket.end();
  }

  private timedOut(): void {
    // Only an idle connection (or one stuck in its head) times out; an answer may take as long as the engine does.
    if (this.response === null) this.socket.destroy();
  }

  /** Gives the connection to Node's HTTP server, with the bytes not yet used. */
  private handOver(): void {
    const socket = this.socket;
    for (const [event, listener] of this.listeners) socket.removeListener(event, listener);
    socket.setTimeout(0);
    this.open.delete(this);
    const unread = this.pending;
    this.pending = null;
    if (unread !== null) socket.unshift(unread);
    this.fallback(socket);
  }
}

export interface FastPath {
  /** Closes idle fast-path connections now, and the others once their answer is out. */
  closeIdle(): void;
  closeAll(): void;
}

/**
 * Puts the fast path in front of `server`: each new connection is read by it
 * first, and handed to the server's own connection handling when a request is
 * not of the fast shape. Connections handed over are the server's to close.
 */
export function installFastPath(server: Server, handle: (r: FastRequest) => void, limits: FastPathLimits): FastPath {
  const nodeHandlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const fallback = (socket: Socket) => {
    for (const h of nodeHandlers) h.call(server, socket);
  };
  const open = new Set<FastConnection>();
  server.on('connection', (socket: Socket) => new FastConnection(socket, handle, fallback, limits, open));
  return {
    closeIdle: () => {
      for (const c of open) c.drain();
    },
    closeAll: () => {
      for (const c of open) c.socket.destroy();
    },
  };
}
