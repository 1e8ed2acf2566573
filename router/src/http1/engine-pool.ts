// Keep-alive connections to one engine, for the router's hot path: each
// request goes out in one write and its response is read by ResponseReader
// and handed to the request's handler as it arrives, with backpressure. It
// replaces undici here because undici's request objects, parser and streams
// cost more CPU per proxied request than all of the router's own work (see
// router/README.md, How a connection is served); health checks and scrapes
// still use undici.
//
// Errors carry the codes the proxied request sorts faults by: the socket's
// own (ECONNREFUSED, ECONNRESET…), UND_ERR_SOCKET for a connection that
// closed before its answer was complete, UND_ERR_CONNECT_TIMEOUT, and
// HPE_… for an answer that is not HTTP.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ResponseReader } from './response-reader.js';

export interface EngineRequest {
  method: 'POST' | 'GET';
  /** Path and query. */
  path: string;
  /** Flat name, value list; Host and Content-Length are added here. */
  headers: string[];
  body: Buffer | null;
}

/** What a request's owner is told, in this order: connect, then headers, data… and complete, or an error at any point. */
export interface EngineHandler {
  /** The request is on its way; `abort` ends it (onError follows with the given error). */
  onConnect(abort: (err?: Error) => void): void;
  /** Returning false, or from onData, pauses the engine's answer until `resume` is called. */
  onHeaders(status: number, rawHeaders: string[], resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  onError(err: Error): void;
}

export interface EnginePoolOptions {
  /** Most connections open at once; more requests wait for one. */
  connections: number;
  /** An idle connection closes after this long (or sooner, as the engine's Keep-Alive says). */
  keepAliveMs: number;
  /** A connection not established in this long fails with UND_ERR_CONNECT_TIMEOUT. */
  connectTimeoutMs: number;
  /** Largest response head accepted from the engine. */
  maxHeadBytes: number;
}

const ENGINE_POOL_DEFAULTS: Omit<EnginePoolOptions, 'connections'> = { keepAliveMs: 60_000, connectTimeoutMs: 10_000, maxHeadBytes: 64 * 1024 };

function codeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** One connection; it carries one request at a time. */
class EngineConnection {
  readonly socket: Socket;
  private readonly reader: ResponseReader;
  private handler: EngineHandler | null = null;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly pool: EnginePool, url: URL, private readonly options: EnginePoolOptions) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket = url.protocol === 'https:'
      ? tlsConnect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
      : tcpConnect({ host, port });
    this.socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => this.fail(codeError('UND_ERR_CONNECT_TIMEOUT', `no connection to ${url.host} within ${options.connectTimeoutMs / 1000} s`)), options.connectTimeoutMs);
    this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
    });
    this.reader = new ResponseReader({
      head: (status, raw) => {
        if (this.handler && !this.handler.onHeaders(status, raw, () => this.socket.resume())) this.socket.pause();
      },
      data: (chunk) => {
        if (this.handler && !this.handler.onData(chunk)) this.socket.pause();
      },
      complete: (reusable) => this.complete(reusable),
    }, options.maxHeadBytes);
    this.socket.on('data', (data: Buffer) => this.received(data));
    this.socket.on('end', () => this.closed());
    this.socket.on('close', () => this.closed());
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('timeout', () => this.socket.destroy());
  }

  send(request: EngineRequest, host: string, handler: EngineHandler): void {
    this.handler = handler;
    this.socket.setTimeout(0);
    handler.onConnect((err) => {
      // A late abort must not end a later request on this connection.
      if (this.handler === handler) this.fail(err ?? codeError('UND_ERR_ABORTED', 'request aborted'));
    });
    if (this.handler !== handler) return;
    this.reader.expect(request.method);
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`;
    const h = request.headers;
    for (let i = 0; i < h.length; i += 2) head += `${h[i] as string}: ${h[i + 1] as string}\r\n`;
    const body = request.body;
    if (body !== null || request.method === 'POST') head += `content-length: ${body?.length ?? 0}\r\n`;
    head += '\r\n';
    const headBytes = Buffer.byteLength(head, 'latin1');
    const out = Buffer.allocUnsafe(headBytes + (body?.length ?? 0));
    out.write(head, 0, 'latin1');
    body?.copy(out, headBytes);
    this.socket.write(out);
  }

  private received(data: Buffer): void {
    if (this.handler === null) {
      // Bytes nobody asked for: the connection is out of step, and is not used again.
      this.socket.destroy();
      return;
    }
    try {
      this.reader.feed(data);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private complete(reusable: boolean): void {
    const handler = this.handler as EngineHandler;
    this.handler = null;
    // As undici: the engine's own Keep-Alive timeout less a second, for the race with its close.
    const idleMs = Math.min(this.options.keepAliveMs, this.reader.keepAliveHintMs - 1000);
    const keep = reusable && !this.socket.destroyed && idleMs > 0;
    if (this.socket.isPaused()) this.socket.resume();
    handler.onComplete();
    if (keep) {
      this.socket.setTimeout(idleMs);
      this.pool.released(this);
    } else {
      this.socket.destroy();
      this.pool.gone(this);
    }
  }

  private closed(): void {
    if (this.handler !== null) {
      try {
        this.reader.ended();
      } catch (err) {
        this.fail(err as Error);
        return;
      }
    }
    this.socket.destroy();
    this.pool.gone(this);
  }

  /** Ends the connection and, when a request is on it, that request with `err`. */
  private fail(err: Error): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const handler = this.handler;
    this.handler = null;
    this.socket.destroy();
    this.pool.gone(this);
    if (handler === null) return;
    handler.onError((err as { code?: string }).code !== undefined ? err : codeError('UND_ERR_SOCKET', err.message));
  }
}

export class EnginePool {
  private readonly url: URL;
  private readonly host: string;
  private readonly options: EnginePoolOptions;
  /** Idle connections, the most recently used last. */
  private readonly idle: EngineConnection[] = [];
  private readonly all = new Set<EngineConnection>();
  private readonly queue: { request: EngineRequest; handler: EngineHandler }[] = [];
  private closing: (() => void) | null = null;
  private closed = false;

  constructor(origin: string, options: Partial<EnginePoolOptions> & { connections: number }) {
    this.url = new URL(origin);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`engine ${origin}: only http and https are supported`);
    this.host = this.url.host;
    this.options = { ...ENGINE_POOL_DEFAULTS, ...options };
  }

  dispatch(request: EngineRequest, handler: EngineHandler): void {
    if (this.closed) {
      handler.onConnect(() => undefined);
      handler.onError(codeError('UND_ERR_CLOSED', 'the engine was removed'));
      return;
    }
    let c = this.idle.pop();
    while (c && c.socket.destroyed) c = this.idle.pop();
    if (!c) {
      if (this.all.size >= this.options.connections) {
        this.queue.push({ request, handler });
        return;
      }
      c = new EngineConnection(this, this.url, this.options);
      this.all.add(c);
    }
    c.send(request, this.host, handler);
  }

  /** A connection finished its request and may carry another. */
  released(c: EngineConnection): void {
    const next = this.queue.shift();
    if (next) return c.send(next.request, this.host, next.handler);
    this.idle.push(c);
    this.settle();
  }

  /** A connection closed: whoever waits gets a new one. */
  gone(c: EngineConnection): void {
    if (!this.all.delete(c)) return;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.queue.shift();
    if (next) this.dispatch(next.request, next.handler);
    this.settle();
  }

  /** Closes once the requests in flight have finished; new requests fail with UND_ERR_CLOSED. */
  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => {
      this.closing = resolve;
      this.settle();
    });
  }

  private settle(): void {
    if (!this.closing) return;
    for (const c of this.idle.splice(0)) {
      this.all.delete(c);
      c.socket.destroy();
    }
    if (this.all.size === 0 && this.queue.length === 0) {
      const done = this.closing;
      this.closing = null;
      done();
    }
  }
}
