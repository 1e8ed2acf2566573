// Disaggregated prefill, the flow of one client request: the prefill leg on
// the least loaded engine of the prefill pool (answer collected, failover to
// another prefill engine when a connection fails), then the decode leg on the
// least loaded engine of the decode pool, relayed to the client as any
// proxied answer (streaming included). production-stack uses one prefill and
// one decode engine; here every engine of each pool takes its share.
import type { Endpoint } from '../backends/endpoints.js';
import { errors, RouterError } from '../errors.js';
import type { ClientResponse } from '../http1/client-response.js';
import type { EngineHandler } from '../http1/engine-pool.js';
import type { Forwarder } from './forwarder.js';
import { ProxiedRequest } from './proxied-request.js';
import type { SplitRequest } from './request-specs.js';
import { decodeBody, legOf, type PoolLabels, prefillBody } from '../routing/disaggregated-prefill.js';

/** A prefill answer is one token: more than this is not one, and is refused rather than buffered. */
export const MAX_PREFILL_ANSWER_BYTES = 1024 * 1024;
/** Connection failures that are safe to retry on another prefill engine (nothing reached the engine's model). */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

/** Collects one prefill answer, within a deadline and a size bound. */
class PrefillAttempt implements EngineHandler {
  private status = 0;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private abort: ((err?: Error) => void) | null = null;
  private readonly timer: NodeJS.Timeout;
  private settled = false;

  constructor(timeoutMs: number, private readonly done: (err: Error | null, status: number, body: Buffer) => void) {
    this.timer = setTimeout(() => this.cancel(Object.assign(new Error(`no answer within --request-timeout ${timeoutMs / 1000} s`), { code: 'ROUTER_HEADERS_TIMEOUT' })), timeoutMs);
  }

  cancel(err: Error): void {
    if (this.abort) this.abort(err);
    else this.finish(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(status: number): boolean {
    this.status = status;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > MAX_PREFILL_ANSWER_BYTES) {
      this.abort?.(Object.assign(new Error(`its answer exceeds ${MAX_PREFILL_ANSWER_BYTES} bytes, more than a one-token prefill`), { code: 'ROUTER_PREFILL_TOO_LARGE' }));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.finish(null);
  }

  onError(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.done(err, this.status, Buffer.concat(this.chunks));
  }
}

function pool(forwarder: Forwarder, model: string, labels: PoolLabels, leg: 'prefill' | 'decode', exclude: Set<string>): Endpoint[] {
  return forwarder.endpoints.candidates(model, exclude).filter((e) => legOf(e.label, labels) === leg);
}

function emptyPool(leg: 'prefill' | 'decode', model: string, labels: PoolLabels): RouterError {
  const flag = leg === 'prefill' ? '--prefill-model-labels' : '--decode-model-labels';
  return errors.unavailable(`${leg} leg: no ${leg} engine serving ${model} is available now (engines labelled ${labels[leg].join(', ')} by ${flag}); retry later`);
}

/** The engine's error message from an OpenAI-shaped body, or the start of the body. */
function engineMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown };
    const m = parsed.error?.message ?? parsed.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: quoted as it is
  }
  return text.slice(0, 200);
}

/**
 * Runs the prefill leg, then hands the decode leg to a ProxiedRequest. The
 * request counts as in flight from the start (the caller counted it);
 * forwarder.done() is called once, whichever way it ends.
 */
export function runDisaggregated(forwarder: Forwarder, res: ClientResponse, split: SplitRequest): void {
  const { spec, labels, logic } = split;
  const model = spec.routed.model;
  const fail = (err: RouterError) => {
    forwarder.fail(spec.path, res, err, spec.requestId);
    forwarder.done();
  };
  if (pool(forwarder, model, labels, 'prefill', new Set()).length === 0) return fail(emptyPool('prefill', model, labels));
  if (pool(forwarder, model, labels, 'decode', new Set()).length === 0) return fail(emptyPool('decode', model, labels));
  const payload = Buffer.from(JSON.stringify(prefillBody(split.body, logic)));
  const tried = new Set<string>();
  let current: PrefillAttempt | null = null;
  let clientGone = false;
  res.once('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    current?.cancel(Object.assign(new Error('the client went away'), { code: 'ROUTER_CLIENT_GONE' }));
  });
  const attempt = (lastError: Error | null): void => {
    const candidates = pool(forwarder, model, labels, 'prefill', tried);
    if (candidates.length === 0 || tried.size > forwarder.failoverAttempts) {
      return fail(lastError === null ? emptyPool('prefill', model, labels)
        : errors.badGateway(`prefill leg: no prefill engine could be reached for ${spec.requested} after ${tried.size} attempt(s): ${lastError.message}`));
    }
    const endpoint = forwarder.choose(candidates, spec.routed);
    tried.add(endpoint.url);
    forwarder.decided({ ...spec, payload }, endpoint, tried.size);
    endpoint.inFlight++;
    endpoint.stats.started();
    current = new PrefillAttempt(forwarder.headersTimeoutMs, (err, status, body) => {
      endpoint.inFlight--;
      endpoint.stats.finished(performance.now() - spec.arrival);
      current = null;
      if (clientGone) return forwarder.done();
      const code = (err as { code?: string } | null)?.code ?? '';
      if (err) {
        forwarder.metrics.countError(endpoint.url, spec.requested, code || 'error');
        if (RETRYABLE.has(code) || code === 'ROUTER_HEADERS_TIMEOUT') endpoint.failed(Date.now());
        if (RETRYABLE.has(code)) return attempt(err);
        if (code === 'ROUTER_HEADERS_TIMEOUT') return fail(new RouterError(504, 'engine_timeout', `prefill leg: engine ${endpoint.url} sent ${err.message}`));
        return fail(errors.badGateway(`prefill leg: engine ${endpoint.url} failed: ${err.message}`));
      }
      endpoint.answered(status, Date.now(), forwarder.outlier);
      if (status < 200 || status >= 300) {
        if (status >= 500) forwarder.metrics.countError(endpoint.url, spec.requested, `http_${status}`);
        return fail(new RouterError(status, 'prefill_failed', `prefill leg: engine ${endpoint.url} answered ${status}: ${engineMessage(body)}`));
      }
      decode(endpoint, body);
    });
    forwarder.pool(endpoint.url).dispatch({ method: 'POST', path: spec.path, headers: spec.headers, body: payload }, current);
  };
  const decode = (prefillEngine: Endpoint, answer: Buffer): void => {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(answer.toString('utf8'));
    } catch {
      // checked below for the orchestrated logic, which needs the answer's fields
    }
    const body = decodeBody(split.body, logic, parsed, prefillEngine.url);
    if (body === null) return fail(errors.badGateway(`prefill leg: engine ${prefillEngine.url} answered without kv_transfer_params, which ${logic} needs to tell the decode engine where the KV is`));
    new ProxiedRequest(forwarder, res, {
      ...spec, payload: Buffer.from(JSON.stringify(body)), leg: 'decode',
      only: (e) => legOf(e.label, labels) === 'decode',
      responseHeaders: ['x-router-prefill-engine', prefillEngine.url],
    }).start();
  };
  attempt(null);
}
