// One client request on its way to an engine: choose, forward, relay the
// answer chunk by chunk with backpressure both ways, and fail over to another
// engine when a connection fails before any response header. The object is
// its own engine-pool handler, so a request costs one allocation here, not a
// promise and a closure per step: this is the router's hot path.
//
// Only the engine's faults count against it (connection failures, timeouts,
// a broken answer): a client that stops reading or leaves never ejects an
// engine.
import type { Expiring } from '../deadlines.js';
import type { Endpoint } from '../backends/endpoints.js';
import { errorBody, errors, RouterError } from '../errors.js';
import type { ClientResponse } from '../http1/client-response.js';
import type { EngineHandler } from '../http1/engine-pool.js';
import { HOP_BY_HOP } from '../http1/header-bytes.js';
import type { Forwarder } from './forwarder.js';
import type { ForwardSpec } from './request-specs.js';

/** The error an attempt ends with when the engine sends no headers within --request-timeout. */
const HEADERS_TIMEOUT = 'ROUTER_HEADERS_TIMEOUT';
/** The engine sent nothing for --stream-idle-timeout. */
const ENGINE_IDLE = 'ROUTER_ENGINE_IDLE';
/** Connection failures before any response header: safe to retry elsewhere. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);
/** The engine's faults that are not connection failures: timeouts, and answers that break HTTP (HPE_… too, below). */
const ENGINE_FAULTS = new Set([...RETRYABLE, HEADERS_TIMEOUT, ENGINE_IDLE, 'ETIMEDOUT', 'UND_ERR_HEADERS_OVERFLOW']);
/** Engine response headers that describe the engine's connection, not the answer. */
const NOT_RELAYED = new Set([...HOP_BY_HOP, 'x-request-id']);
const LF = 10;
const CR = 13;

function codeOf(err: Error | null): string {
  return (err as { code?: string } | null)?.code ?? 'error';
}

function engineFault(code: string): boolean {
  // llhttp's codes (HPE_…) mean the engine's answer is not HTTP.
  return ENGINE_FAULTS.has(code) || code.startsWith('HPE_');
}

function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class ProxiedRequest implements EngineHandler, Expiring {
  deadline = 0;
  sweepPrev: Expiring | null = null;
  sweepNext: Expiring | null = null;
  private readonly tried = new Set<string>();
  private attempts = 0;
  private endpoint: Endpoint | null = null;
  private status = 0;
  /** Which timeout list the request is in: waiting for headers, or relaying an answer. */
  private waiting: 'headers' | 'body' | null = null;
  /** The engine's first body byte has arrived: the request's time to first token is known. */
  private gotFirstByte = false;
  private cancelled = false;
  private timedOut = false;
  /** The client's socket is full: the engine's answer waits for 'drain'. */
  private clientFull = false;
  /** The answer is an SSE stream, and what was relayed so far ends at an event boundary. */
  private sse = false;
  private atEventEnd = true;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private lastError: Error | null = null;

  constructor(private readonly forwarder: Forwarder, private readonly res: ClientResponse, private readonly spec: ForwardSpec) {}

  start(): void {
    // A client that went away aborts the engine's request too.
    this.res.once('close', () => {
      if (this.res.writableFinished) return;
      this.cancelled = true;
      this.abortUpstream?.();
    });
    this.next();
  }

  private candidates(): Endpoint[] {
    const { forwarder, spec } = this;
    if (spec.pinned === null) {
      const all = forwarder.endpoints.candidates(spec.routed.model, this.tried);
      return spec.only ? all.filter(spec.only) : all;
    }
    const e = forwarder.endpoints.byId(spec.pinned);
    return e && !this.tried.has(e.url) ? [e] : [];
  }

  private next(): void {
    const { forwarder, spec } = this;
    const model = spec.routed.model;
    const candidates = this.candidates();
    if (candidates.length === 0 || this.attempts > forwarder.failoverAttempts) {
      if (this.tried.size > 0) return this.giveUp();
      if (spec.pinned !== null) return this.end(errors.badRequest(`no engine with id ${spec.pinned}; /engines lists them`, 'id'));
      if (forwarder.endpoints.modelsSeen.has(model) && !forwarder.endpoints.isAdapter(model)) return this.end(errors.unavailable(`no engine serving ${model} is available now; retry later`));
      return this.end(errors.notFound(`The model \`${spec.requested}\` does not exist.`));
    }
    const endpoint = candidates.length === 1 && spec.pinned !== null ? (candidates[0] as Endpoint) : forwarder.choose(candidates, spec.routed);
    this.attempts++;
    this.tried.add(endpoint.url);
    this.endpoint = endpoint;
    this.gotFirstByte = false;
    this.timedOut = false;
    forwarder.decided(spec, endpoint, this.attempts);
    this.wait('headers', forwarder.headersTimeoutMs);
    endpoint.inFlight++;
    endpoint.awaitingFirstByte++;
    endpoint.stats.started();
    // --request-timeout and --stream-idle-timeout are kept by the sweeps, not by the pool.
    forwarder.pool(endpoint.url).dispatch({ method: spec.method, path: spec.path, headers: spec.headers, body: spec.payload }, this);
  }

  /** Into a timeout list (out of the other one), with its deadline from now. */
  private wait(list: 'headers' | 'body', ms: number): void {
    this.unwait();
    this.waiting = list;
    this.deadline = performance.now() + ms;
    (list === 'headers' ? this.forwarder.awaitingHeaders : this.forwarder.idleStreams).add(this);
  }

  private unwait(): void {
    if (this.waiting === 'headers') this.forwarder.awaitingHeaders.delete(this);
    else if (this.waiting === 'body') this.forwarder.idleStreams.delete(this);
    this.waiting = null;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.cancelled) abort();
    else if (this.timedOut) abort(timeoutError(HEADERS_TIMEOUT, 'the engine sent no response headers within --request-timeout'));
    else this.abortUpstream = abort;
  }

  /** A deadline passed: no headers in time (504 unless another attempt answers), or nothing moved for --stream-idle-timeout. */
  expire(): void {
    const list = this.waiting;
    this.waiting = null;
    if (list === 'headers') {
      this.timedOut = true;
      this.abortUpstream?.(timeoutError(HEADERS_TIMEOUT, 'the engine sent no response headers within --request-timeout'));
    } else if (this.clientFull) {
      // The client stopped reading: the engine is not to blame. The connection goes, and with it the engine request.
      this.forwarder.log.log('info', 'request', { id: this.spec.requestId, model: this.spec.requested, engine: this.endpoint?.url, status: this.status, error: 'client_not_reading', ms: Math.round(performance.now() - this.spec.arrival) });
      this.res.destroy();
    } else {
      this.abortUpstream?.(timeoutError(ENGINE_IDLE, `the engine sent nothing for --stream-idle-timeout ${this.forwarder.streamIdleMs / 1000} s`));
    }
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    const endpoint = this.endpoint as Endpoint;
    this.status = statusCode;
    this.resumeUpstream = resume;
    // A flat name, value list as Node takes it, latin1 as read: header bytes are relayed unchanged.
    const out: string[] = [];
    let sized = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i] as string;
      const lower = name.toLowerCase();
      if (NOT_RELAYED.has(lower)) continue;
      const value = rawHeaders[i + 1] as string;
      if (lower === 'content-length') sized = true;
      else if (lower === 'content-type' && value.startsWith('text/event-stream')) this.sse = true;
      out.push(name, value);
    }
    out.push('x-request-id', this.spec.requestId, 'x-router-engine', endpoint.url, 'x-router-attempts', String(this.attempts));
    if (this.spec.responseHeaders) out.push(...this.spec.responseHeaders);
    this.res.writeHead(statusCode, out);
    // Streams show their headers at once; a sized answer goes out with its body in one write.
    if (!sized) this.res.flushHeaders();
    this.wait('body', this.forwarder.streamIdleMs);
    return true;
  }

  /** The engine's first body byte is here: the request no longer waits for it. */
  private firstByte(): number {
    this.gotFirstByte = true;
    (this.endpoint as Endpoint).awaitingFirstByte--;
    return performance.now();
  }

  /** Time to first token, as a client sees it: a stream's headers come before its first token. */
  private observeTtft(at: number): void {
    const endpoint = this.endpoint as Endpoint;
    const ttft = at - this.spec.arrival;
    endpoint.stats.firstByte(ttft);
    this.forwarder.metrics.observeTtft(endpoint.url, ttft / 1000);
  }

  onData(chunk: Buffer): boolean {
    const firstAt = this.gotFirstByte ? 0 : this.firstByte();
    if (this.sse) {
      const n = chunk.length;
      this.atEventEnd = n > 0 ? chunk[n - 1] === LF && (chunk[n - 2] === LF || (chunk[n - 2] === CR && chunk[n - 3] === LF)) : this.atEventEnd;
    }
    this.wait('body', this.forwarder.streamIdleMs);
    const flowing = this.res.write(chunk);
    // Observed once the bytes are on their way: the client does not wait for the router's bookkeeping.
    if (firstAt > 0) this.observeTtft(firstAt);
    if (flowing) return true;
    // Backpressure: the engine's stream waits while the client's socket is full.
    this.clientFull = true;
    this.res.once('drain', () => this.drained());
    return false;
  }

  private drained(): void {
    this.clientFull = false;
    if (this.waiting === 'body') this.wait('body', this.forwarder.streamIdleMs);
    this.resumeUpstream?.();
  }

  onComplete(): void {
    if (!this.gotFirstByte) this.observeTtft(this.firstByte());
    this.res.end();
    const endpoint = this.settle();
    const { forwarder, spec, status } = this;
    if (endpoint.answered(status, Date.now(), forwarder.outlier)) {
      forwarder.log.log('warn', `engine ${endpoint.url} ejected after ${forwarder.outlier.consecutive5xx} consecutive 5xx answers, for ${(endpoint.retryAt - Date.now()) / 1000} s`);
    }
    spec.answered?.(endpoint, status);
    const ms = performance.now() - spec.arrival;
    if (status >= 500) forwarder.metrics.countError(endpoint.url, spec.requested, `http_${status}`);
    forwarder.metrics.observeLatency(endpoint.url, spec.requested, status, ms / 1000);
    if (forwarder.log.enabled('info')) forwarder.log.log('info', 'request', { id: spec.requestId, model: spec.requested, engine: endpoint.url, status, ms: Math.round(ms), attempts: this.attempts });
    forwarder.done();
  }

  onError(err: Error): void {
    const endpoint = this.settle();
    if (this.cancelled || this.res.destroyed) return this.forwarder.done();
    this.lastError = err;
    const code = codeOf(err);
    this.forwarder.metrics.countError(endpoint.url, this.spec.requested, code);
    if (engineFault(code) && endpoint.failed(Date.now())) this.forwarder.log.log('warn', `engine ${endpoint.url} ejected after ${endpoint.consecutiveFailures} consecutive failures`);
    if (this.res.headersSent || !RETRYABLE.has(code)) return this.giveUp();
    this.next();
  }

  /** The attempt is over: the endpoint's counts and statistics say so. */
  private settle(): Endpoint {
    const endpoint = this.endpoint as Endpoint;
    if (!this.gotFirstByte) endpoint.awaitingFirstByte--;
    this.unwait();
    endpoint.inFlight--;
    endpoint.stats.finished(performance.now() - this.spec.arrival);
    this.abortUpstream = null;
    return endpoint;
  }

  private giveUp(): void {
    const code = codeOf(this.lastError);
    if (this.res.headersSent) return this.breakOff(code);
    if (code === HEADERS_TIMEOUT) return this.end(errors.timeout(this.forwarder.headersTimeoutMs / 1000));
    this.end(errors.badGateway(`no engine could be reached for ${this.spec.requested} after ${this.tried.size} attempt(s): ${this.lastError?.message ?? 'unknown error'}`));
  }

  /**
   * Part of the answer went out when the engine failed. An SSE stream at an
   * event boundary ends as vLLM ends a failed stream: an OpenAI-style error
   * event, then [DONE], then a proper end. Anything else can only be cut.
   */
  private breakOff(code: string): void {
    const { forwarder, spec } = this;
    const err = this.named(code === ENGINE_IDLE ? errors.streamIdle(forwarder.streamIdleMs / 1000) : errors.streamBroken(this.lastError?.message ?? code));
    forwarder.log.log('info', 'request', { id: spec.requestId, model: spec.requested, engine: this.endpoint?.url, status: this.status, error: err.code, ms: Math.round(performance.now() - spec.arrival), attempts: this.attempts });
    if (this.sse && this.atEventEnd && !this.clientFull) this.res.end(`data: ${errorBody(err)}\n\ndata: [DONE]\n\n`);
    else this.res.destroy();
    forwarder.done();
  }

  /** The error with the leg it happened on, for a split request. */
  private named(err: RouterError): RouterError {
    const leg = this.spec.leg;
    return leg === undefined ? err : new RouterError(err.status, err.code, `${leg} leg: ${err.message}`, err.param, err.headers);
  }

  private end(err: RouterError): void {
    this.forwarder.fail(this.spec.path, this.res, this.named(err), this.spec.requestId);
    this.forwarder.done();
  }
}
