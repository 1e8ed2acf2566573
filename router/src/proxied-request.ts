// One client request on its way to an engine: choose, forward, relay the
// answer chunk by chunk with backpressure both ways, and fail over to another
// engine when a connection fails before any response header. The object is
// its own undici handler, so a request costs one allocation here, not a
// promise and a closure per step: this is the router's hot path.
import type { Dispatcher, Pool } from 'undici';
import type { DeadlineSweep, Expiring } from './deadlines.js';
import type { Endpoint, EndpointSet } from './endpoints.js';
import { errors, type RouterError } from './errors.js';
import type { ClientResponse } from './http1/client-response.js';
import { HOP_BY_HOP } from './incoming-headers.js';
import type { Logger } from './logger.js';
import type { RouterMetrics } from './metrics.js';
import type { RoutedRequest } from './routing/index.js';

/** What a proxied request needs from the router it runs in. */
export interface ForwardContext {
  readonly endpoints: EndpointSet;
  readonly metrics: RouterMetrics;
  readonly log: Logger;
  /** Extra attempts on other engines after a connection failure. */
  readonly failoverAttempts: number;
  /** How long an engine may take to send response headers. */
  readonly headersTimeoutMs: number;
  /** Where requests wait for their engine's response headers. */
  readonly awaitingHeaders: DeadlineSweep;
  pool(url: string): Pool;
  choose(candidates: Endpoint[], request: RoutedRequest): Endpoint;
  /** Answers the router's own error to the client. */
  fail(url: string, res: ClientResponse, err: RouterError, requestId: string): void;
  /** The request is over, whichever way it ended. */
  done(): void;
}

export interface ForwardSpec {
  path: string;
  /** The body for the engine: the client's bytes, or rewritten when an alias changed the model. */
  payload: Buffer;
  /** Flat name, value list sent to the engine. */
  headers: string[];
  requestId: string;
  /** The model as the client named it (metrics and logs use this name). */
  requested: string;
  routed: RoutedRequest;
  /** performance.now() when the request arrived. */
  arrival: number;
}

/** The error an attempt ends with when the engine sends no headers within --request-timeout. */
const HEADERS_TIMEOUT = 'ROUTER_HEADERS_TIMEOUT';
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);
/** Engine response headers that describe the engine's connection, not the answer. */
const NOT_RELAYED = new Set([...HOP_BY_HOP, 'x-request-id']);

/** A connection failure that happened before any response header: safe to retry elsewhere. */
function retryable(err: Error): boolean {
  return RETRYABLE.has((err as { code?: string }).code ?? '');
}

function timeoutError(): Error {
  return Object.assign(new Error('the engine sent no response headers within --request-timeout'), { code: HEADERS_TIMEOUT });
}

export class ProxiedRequest implements Dispatcher.DispatchHandler, Expiring {
  deadline = 0;
  sweepPrev: Expiring | null = null;
  sweepNext: Expiring | null = null;
  private readonly tried = new Set<string>();
  private attempts = 0;
  private endpoint: Endpoint | null = null;
  private status = 0;
  /** The engine's first body byte has arrived: the request's time to first token is known. */
  private gotFirstByte = false;
  private cancelled = false;
  private timedOut = false;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private lastError: Error | null = null;

  constructor(private readonly ctx: ForwardContext, private readonly res: ClientResponse, private readonly spec: ForwardSpec) {}

  start(): void {
    // A client that went away aborts the engine's request too.
    this.res.once('close', () => {
      if (this.res.writableFinished) return;
      this.cancelled = true;
      this.abortUpstream?.();
    });
    this.next();
  }

  private next(): void {
    const { ctx, spec } = this;
    const model = spec.routed.model;
    const candidates = ctx.endpoints.candidates(model, this.tried);
    if (candidates.length === 0 || this.attempts > ctx.failoverAttempts) {
      if (this.tried.size > 0) return this.giveUp();
      if (ctx.endpoints.modelsSeen.has(model)) return this.end(errors.unavailable(`no engine serving ${model} is available now; retry later`));
      return this.end(errors.notFound(`The model \`${spec.requested}\` does not exist.`));
    }
    const endpoint = ctx.choose(candidates, spec.routed);
    this.attempts++;
    this.tried.add(endpoint.url);
    this.endpoint = endpoint;
    this.gotFirstByte = false;
    this.timedOut = false;
    this.deadline = performance.now() + ctx.headersTimeoutMs;
    ctx.awaitingHeaders.add(this);
    endpoint.inFlight++;
    endpoint.awaitingFirstByte++;
    endpoint.stats.started();
    ctx.pool(endpoint.url).dispatch({
      method: 'POST', path: spec.path, headers: spec.headers, body: spec.payload,
      // No undici timers: --request-timeout is kept by awaitingHeaders.
      headersTimeout: 0, bodyTimeout: 0,
    }, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.cancelled) abort();
    else if (this.timedOut) abort(timeoutError());
    else this.abortUpstream = abort;
  }

  /** The engine sent no headers in time: the attempt ends with a timeout error (504 unless another attempt answers). */
  expire(): void {
    this.timedOut = true;
    this.abortUpstream?.(timeoutError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const endpoint = this.endpoint as Endpoint;
    this.status = statusCode;
    this.resumeUpstream = resume;
    // A flat name, value list as Node takes it; latin1 relays header bytes unchanged.
    const out: string[] = [];
    let sized = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1');
      const lower = name.toLowerCase();
      if (NOT_RELAYED.has(lower)) continue;
      if (lower === 'content-length') sized = true;
      out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
    }
    out.push('x-request-id', this.spec.requestId, 'x-router-engine', endpoint.url, 'x-router-attempts', String(this.attempts));
    this.res.writeHead(statusCode, out);
    // Streams show their headers at once; a sized answer goes out with its body in one write.
    if (!sized) this.res.flushHeaders();
    this.ctx.awaitingHeaders.delete(this);
    return true;
  }

  /** Time to first token, as a client sees it: a stream's headers come before its first token. */
  private firstByte(): void {
    const endpoint = this.endpoint as Endpoint;
    this.gotFirstByte = true;
    endpoint.awaitingFirstByte--;
    const ttft = performance.now() - this.spec.arrival;
    endpoint.stats.firstByte(ttft);
    this.ctx.metrics.observeTtft(endpoint.url, ttft / 1000);
  }

  onData(chunk: Buffer): boolean {
    if (!this.gotFirstByte) this.firstByte();
    if (this.res.write(chunk)) return true;
    // Backpressure: the engine's stream waits while the client's socket is full.
    this.res.once('drain', this.resumeUpstream as () => void);
    return false;
  }

  onComplete(): void {
    if (!this.gotFirstByte) this.firstByte();
    this.res.end();
    const endpoint = this.settle();
    endpoint.succeeded();
    const { ctx, spec, status } = this;
    const ms = performance.now() - spec.arrival;
    if (status >= 500) ctx.metrics.countError(endpoint.url, spec.requested, `http_${status}`);
    ctx.metrics.observeLatency(endpoint.url, spec.requested, status, ms / 1000);
    if (ctx.log.enabled('info')) ctx.log.log('info', 'request', { id: spec.requestId, model: spec.requested, engine: endpoint.url, status, ms: Math.round(ms), attempts: this.attempts });
    ctx.done();
  }

  onError(err: Error): void {
    const endpoint = this.settle();
    if (this.cancelled) return this.ctx.done();
    this.lastError = err;
    this.ctx.metrics.countError(endpoint.url, this.spec.requested, (err as { code?: string }).code ?? 'error');
    if (endpoint.failed(Date.now())) this.ctx.log.log('warn', `engine ${endpoint.url} ejected after ${endpoint.consecutiveFailures} consecutive failures`);
    if (this.res.headersSent || !retryable(err)) return this.giveUp();
    this.next();
  }

  /** The attempt is over: the endpoint's counts and statistics say so. */
  private settle(): Endpoint {
    const endpoint = this.endpoint as Endpoint;
    if (!this.gotFirstByte) endpoint.awaitingFirstByte--;
    this.ctx.awaitingHeaders.delete(this);
    endpoint.inFlight--;
    endpoint.stats.finished(performance.now() - this.spec.arrival);
    this.abortUpstream = null;
    return endpoint;
  }

  private giveUp(): void {
    if (this.res.headersSent) {
      // Part of an answer went out: cutting the connection is the only honest signal left.
      this.res.destroy();
      return this.ctx.done();
    }
    const code = (this.lastError as { code?: string } | null)?.code;
    if (code === HEADERS_TIMEOUT) return this.end(errors.timeout(this.ctx.headersTimeoutMs / 1000));
    this.end(errors.badGateway(`no engine could be reached for ${this.spec.requested} after ${this.tried.size} attempt(s): ${this.lastError?.message ?? 'unknown error'}`));
  }

  private end(err: RouterError): void {
    this.ctx.fail(this.spec.path, this.res, err, this.spec.requestId);
    this.ctx.done();
  }
}
