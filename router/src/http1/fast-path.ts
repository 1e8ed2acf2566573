// The router's fast path for the request shape that dominates its traffic
// (an HTTP/1.1 POST with a Content-Length body): read off the socket and
// answered on it directly, without Node's per-request IncomingMessage and
// ServerResponse streams, which cost about as much CPU as the whole rest of
// the proxy (see router/README.md, How a connection is served). The first
// request a strict reader does not accept hands the connection, unread bytes
// included, to Node's own HTTP server for good: GETs, chunked uploads,
// Expect, HTTP/1.0 and anything malformed get Node's handling.
//
// While an answer is in progress nothing more is read from the connection
// (backpressure, as node:http does), so a client cannot make the router
// buffer what it pipelines. A client that closes its side (FIN) or resets the
// connection while its request is in flight has gone: the request is
// cancelled, as nginx and Node's server do.
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { DeadlineSweep, Expiring } from '../deadlines.js';
import type { ClientResponse } from './client-response.js';
import { HeadCheck, parseRequestHead } from './request-head.js';

export interface FastRequest {
  method: 'POST';
  url: string;
  rawHeaders: string[];
  /** The whole body; null when its declared length is over the limit (it is read and dropped, not kept). */
  body: Buffer | null;
  response: ClientResponse;
}

export interface FastPathLimits {
  /** Bodies declared larger are not kept: the router answers 413 and the bytes are dropped. */
  maxBodySize: number;
  /** As Node's maxHeaderSize: a larger head goes to Node's server, which answers 431. */
  maxHeaderBytes: number;
  /** An idle keep-alive connection closes after this long, as the server's keepAliveTimeout. */
  keepAliveMs: number;
  /** Where connections wait for their request's head and body to be complete (--client-request-timeout). */
  requestDeadlines: DeadlineSweep;
  /** Now plus the whole-request timeout: when a request that starts now must be complete. */
  requestDeadline(): number;
}

export interface FastPathHandlers {
  request(r: FastRequest): void;
  /** The request was not complete in time: answer 408 on the socket and close it. */
  timedOut(socket: Socket): void;
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

  constructor(private readonly connection: FastConnection, public keepAlive: boolean) {}

  get destroyed(): boolean {
    return this.connection.socket.destroyed;
  }

  writeHead(status: number, headers: string[]): this {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let sized = false;
    let dated = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      // Only content-length (14) and date (4) matter here: other names are not lower-cased.
      if (name.length === 14) sized ||= name.toLowerCase() === 'content-length';
      else if (name.length === 4) dated ||= name.toLowerCase() === 'date';
      head += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (!sized && status !== 204 && status !== 304) {
      this.chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    if (!dated) head += `date: ${httpDate()}\r\n`;
    // A server that is draining says so, so that the client opens its next request elsewhere.
    if (this.connection.draining) this.keepAlive = false;
    head += this.keepAlive ? this.connection.keepAliveHeader : 'connection: close\r\n\r\n';
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

class FastConnection implements Expiring {
  deadline = 0;
  sweepPrev: Expiring | null = null;
  sweepNext: Expiring | null = null;
  /** The pieces of a head that has not all arrived yet, checked as they come. */
  private headPieces: Buffer[] = [];
  private headBytes = 0;
  private readonly headCheck = new HeadCheck();
  /** The request being read: its head is parsed, its body not all here yet. */
  private reading: { url: string; rawHeaders: string[]; contentLength: number; keepAlive: boolean; chunks: Buffer[]; size: number } | null = null;
  private response: FastResponse | null = null;
  /** Bytes of an over-limit body still to be read and dropped. */
  private discard = 0;
  /** A request has started arriving and waits in the request deadline list. */
  private timing = false;
  /** Set once the connection is to close: nothing more is read from it. */
  private closing = false;
  /** The server is shutting down: the connection closes once its answer in progress is out. */
  draining = false;
  /** The socket events this connection listens to, removed as one when it is handed over. */
  private readonly listeners: [string, (data: Buffer) => void][] = [
    ['data', (d) => this.received(d)],
    ['end', () => this.ended()],
    ['close', () => {
      this.open.delete(this);
      this.untime();
      this.response?.clientGone();
    }],
    ['drain', () => this.response?.drained()],
    ['timeout', () => this.idle()],
    ['error', () => this.socket.destroy()],
  ];

  constructor(readonly socket: Socket, private readonly handlers: FastPathHandlers, private readonly fallback: (socket: Socket) => void, private readonly limits: FastPathLimits, readonly keepAliveHeader: string, private readonly open: Set<FastConnection>) {
    open.add(this);
    for (const [event, listener] of this.listeners) socket.on(event, listener);
    socket.setTimeout(limits.keepAliveMs);
  }

  private received(data: Buffer): void {
    // Bytes after the request that closes the connection are not requests: none is kept.
    if (this.closing) return;
    if (this.response !== null) return this.holdBack(data);
    this.feed(data);
  }

  /**
   * Bytes beyond the request in flight go back into the socket, which stops
   * reading until the answer is out: the client is held back by TCP, not
   * buffered here. Left in the socket, they also keep a pipelining client's
   * FIN from ending its later requests before they are read.
   */
  private holdBack(data: Buffer): void {
    this.socket.pause();
    this.socket.unshift(data);
  }

  /** Reads what has arrived: the rest of a head or body, then as many whole requests as there are. */
  private feed(first: Buffer): void {
    let data: Buffer | null = first;
    while (data !== null && this.response === null && !this.closing) {
      if (this.discard > 0) {
        if (data.length <= this.discard) {
          this.discard -= data.length;
          return;
        }
        data = data.subarray(this.discard);
        this.discard = 0;
      }
      if (this.reading === null) {
        const head = this.readHead(data);
        if (head === null) return;
        data = head.rest;
      }
      const r = this.reading as NonNullable<FastConnection['reading']>;
      if (data !== null) {
        const take = Math.min(r.contentLength - r.size, data.length);
        if (take > 0) r.chunks.push(take === data.length ? data : data.subarray(0, take));
        r.size += take;
        data = take < data.length ? data.subarray(take) : null;
      }
      if (r.size < r.contentLength) return;
      this.reading = null;
      this.untime();
      this.dispatch(r.url, r.rawHeaders, r.chunks.length === 1 ? (r.chunks[0] as Buffer) : Buffer.concat(r.chunks, r.size), r.keepAlive);
    }
    if (data !== null && !this.closing) this.holdBack(data);
  }

  /**
   * Adds bytes to the head being read. Returns the bytes after a complete head
   * (its request now being read), or null: more is needed, or the connection
   * was handed over or answered.
   */
  private readHead(data: Buffer): { rest: Buffer | null } | null {
    let bytes: Buffer;
    if (this.headPieces.length === 0) {
      this.time();
      // The usual case: the whole head in one read, parsed in place.
      const parsed = parseRequestHead(data, this.limits.maxHeaderBytes);
      if (parsed.kind === 'unsupported') {
        this.handOver(data);
        return null;
      }
      if (parsed.kind === 'request') return this.startBody(parsed, data);
      this.headCheck.reset();
      if (this.headCheck.feed(data) === -2) {
        this.handOver(data);
        return null;
      }
      this.headPieces.push(data);
      this.headBytes = data.length;
      return null;
    }
    const end = this.headCheck.feed(data);
    this.headPieces.push(data);
    this.headBytes += data.length;
    if (end === -1 && this.headBytes <= this.limits.maxHeaderBytes) return null;
    bytes = Buffer.concat(this.headPieces, this.headBytes);
    this.headPieces = [];
    this.headBytes = 0;
    const parsed = end === -2 ? null : parseRequestHead(bytes, this.limits.maxHeaderBytes);
    if (parsed === null || parsed.kind !== 'request') {
      this.handOver(bytes);
      return null;
    }
    return this.startBody(parsed, bytes);
  }

  private startBody(head: Extract<ReturnType<typeof parseRequestHead>, { kind: 'request' }>, bytes: Buffer): { rest: Buffer | null } | null {
    let rest = bytes.length > head.headBytes ? bytes.subarray(head.headBytes) : null;
    if (head.contentLength > this.limits.maxBodySize) {
      // Too large to keep: its bytes are dropped as they come, so the connection stays in step.
      this.discard = head.contentLength;
      if (rest !== null) {
        const dropped = Math.min(rest.length, this.discard);
        this.discard -= dropped;
        rest = rest.length > dropped ? rest.subarray(dropped) : null;
      }
      this.untime();
      this.dispatch(head.url, head.rawHeaders, null, head.keepAlive);
      if (rest !== null && !this.closing) this.holdBack(rest);
      return null;
    }
    this.reading = { url: head.url, rawHeaders: head.rawHeaders, contentLength: head.contentLength, keepAlive: head.keepAlive, chunks: [], size: 0 };
    return { rest };
  }

  private dispatch(url: string, rawHeaders: string[], body: Buffer | null, keepAlive: boolean): void {
    const response = new FastResponse(this, keepAlive);
    this.response = response;
    this.handlers.request({ method: 'POST', url, rawHeaders, body, response });
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
  }

  /** Closes the connection now if it is idle, else once its answer is out. */
  drain(): void {
    this.draining = true;
    if (this.response === null && this.reading === null && this.headPieces.length === 0) {
      this.closing = true;
      this.socket.end();
    }
  }

  private ended(): void {
    // The client closed its side: an answer in progress has no one to go to, and its engine request is cancelled.
    if (this.response !== null) this.socket.destroy();
    else this.socket.end();
  }

  private idle(): void {
    // Only an idle connection times out here; a request being read has --client-request-timeout, an answer the engine's timeouts.
    if (this.response === null && !this.timing) this.socket.destroy();
  }

  private time(): void {
    if (this.timing) return;
    this.timing = true;
    this.deadline = this.limits.requestDeadline();
    this.limits.requestDeadlines.add(this);
  }

  private untime(): void {
    if (!this.timing) return;
    this.timing = false;
    this.limits.requestDeadlines.delete(this);
  }

  /** The request was not all here by its deadline. */
  expire(): void {
    this.timing = false;
    if (this.response !== null || this.closing) return;
    this.closing = true;
    this.headPieces = [];
    this.reading = null;
    this.handlers.timedOut(this.socket);
  }

  /** Gives the connection to Node's HTTP server, with the bytes not yet used. */
  private handOver(unread: Buffer): void {
    const socket = this.socket;
    for (const [event, listener] of this.listeners) socket.removeListener(event, listener);
    socket.setTimeout(0);
    this.untime();
    this.open.delete(this);
    socket.unshift(unread);
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
export function installFastPath(server: Server, handlers: FastPathHandlers, limits: FastPathLimits): FastPath {
  const nodeHandlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const fallback = (socket: Socket) => {
    for (const h of nodeHandlers) h.call(server, socket);
  };
  const open = new Set<FastConnection>();
  const keepAliveHeader = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(limits.keepAliveMs / 1000)}\r\n\r\n`;
  server.on('connection', (socket: Socket) => new FastConnection(socket, handlers, fallback, limits, keepAliveHeader, open));
  return {
    closeIdle: () => {
      for (const c of open) c.drain();
    },
    closeAll: () => {
      for (const c of open) c.socket.destroy();
    },
  };
}
