// The forwarder: takes a request the front has accepted to an engine. It
// chooses the engine (the routing policy's algorithm, LoRA affinity), holds a
// connection pool per engine, keeps the deadlines (--request-timeout,
// --stream-idle-timeout) and the --max-concurrency bound, and fails over; each
// request is a ProxiedRequest (or a split one, disaggregated prefill) run by it.
import type { Backends } from '../backends/backends.js';
import type { Endpoint, EndpointSet, OutlierPolicy } from '../backends/endpoints.js';
import { DeadlineSweep } from '../deadlines.js';
import type { BackendSpec } from '../discovery/index.js';
import { answerError } from '../error-answer.js';
import { errors, type RouterError } from '../errors.js';
import type { ClientResponse } from '../http1/client-response.js';
import { EnginePool } from '../http1/engine-pool.js';
import { textValue, type Logger } from '../logger.js';
import { LORA_ADMIN_ROUTES, preferResident } from '../lora/index.js';
import type { RouterOptions } from '../options.js';
import type { DisaggregatedLogic, RoutedRequest } from '../routing/index.js';
import type { RouterMetrics } from './metrics.js';
import type { ForwardSpec, SplitRequest } from './request-specs.js';

/** What the request carries to the engine, as the front hands it over. */
interface EngineBound {
  /** The engine's path, query included (less the router's ?id=). */
  enginePath: string;
  /** The client's end-to-end headers for the engine (flat name, value list). */
  clientHeaders: string[];
  requestId: string;
  /** performance.now() when the request arrived. */
  arrival: number;
}

/** A request for a model: the engine is chosen among those serving it (or is the one ?id= names). */
export interface ModelRequest extends EngineBound {
  /** The engine named by ?id=, or null. */
  pinned: string | null;
  /** The model as the client named it; an alias is resolved here. */
  requested: string;
  /** The body for the engine; null sends a GET. */
  payload: Buffer | null;
  contentType: string | null;
  /** What prefix-aware routing matches ('' for other algorithms). */
  prompt: string;
  sessionId: string | null;
}

/** Engine administration (sleep mode, LoRA adapters), sent to the engine ?id= names. */
export interface AdminRequest extends EngineBound {
  /** The route, without the root path or query. */
  path: string;
  pinned: string;
  /** The body for the engine; null when the client sent none. */
  payload: Buffer | null;
  contentType: string | null;
}

/** A request split into a prefill and a decode leg (disaggregated prefill). */
export interface SplitForward extends EngineBound {
  logic: DisaggregatedLogic;
  /** The client's body, parsed, with the model an alias resolves to. */
  body: Record<string, unknown>;
  requested: string;
  model: string;
  sessionId: string | null;
}

/**
 * How an admitted request runs (proxied-request.ts, disaggregated-request.ts):
 * given by whoever assembles the router, since the requests report back to the
 * forwarder and so stand above it.
 */
export interface RequestRunners {
  proxy(forwarder: Forwarder, res: ClientResponse, spec: ForwardSpec): void;
  split(forwarder: Forwarder, res: ClientResponse, split: SplitRequest): void;
}

export class Forwarder {
  readonly endpoints: EndpointSet;
  /** Extra attempts on other engines after a connection failure. */
  readonly failoverAttempts: number;
  /** How long an engine may take to send response headers. */
  readonly headersTimeoutMs: number;
  /** Where requests wait for their engine's response headers. */
  readonly awaitingHeaders: DeadlineSweep;
  /** How long an answer may go without a byte moving (from the engine, or into the client). */
  readonly streamIdleMs: number;
  /** Where answers in progress wait for their next byte. */
  readonly idleStreams: DeadlineSweep;
  readonly outlier: OutlierPolicy;
  private readonly pools = new Map<string, EnginePool>();
  private readonly engineAuthHeader: string[];
  private inFlight = 0;

  constructor(private readonly options: RouterOptions, private readonly backends: Backends, readonly metrics: RouterMetrics, readonly log: Logger, private readonly runners: RequestRunners) {
    this.endpoints = backends.endpoints;
    this.failoverAttempts = options.maxInstanceFailoverRerouteAttempts;
    this.headersTimeoutMs = options.requestTimeout * 1000;
    this.streamIdleMs = options.streamIdleTimeout * 1000;
    this.awaitingHeaders = DeadlineSweep.within(this.headersTimeoutMs);
    this.idleStreams = DeadlineSweep.within(this.streamIdleMs);
    this.outlier = { consecutive5xx: options.outlierConsecutive5xx, ejectionMs: options.outlierEjectionTime * 1000 };
    this.engineAuthHeader = Object.entries(backends.engineAuth).flat();
  }

  /** The one place the endpoint set changes (discovery and the dynamic config come here), so that the pools follow it. */
  replaceBackends(backends: BackendSpec[]): void {
    // Pools first: if one cannot be made, nothing has changed yet.
    // As many connections as requests may be in flight: the engines queue, not the router.
    const pools = backends.filter((b) => !this.pools.has(b.url)).map((b) => [b.url, new EnginePool(b.url, { connections: this.options.maxConcurrency })] as const);
    for (const url of this.backends.replaceEndpoints(backends)) {
      const pool = this.pools.get(url);
      this.pools.delete(url);
      // In-flight requests finish on the old pool; it closes once they have.
      pool?.close().catch(() => undefined);
      this.metrics.forget(url);
    }
    for (const [url, pool] of pools) this.pools.set(url, pool);
  }

  /** Refuses a request past --max-concurrency (429), before the front reads its body. */
  checkCapacity(): void {
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
  }

  /** Forwards a request for a model; throws the client's mistakes. */
  forwardModel(res: ClientResponse, r: ModelRequest): void {
    this.checkCapacity();
    const model = this.backends.policy.aliases[r.requested] ?? r.requested;
    // Only names the router knows become metric labels: invented ones would make a series each.
    if (this.endpoints.modelsSeen.has(model) || this.endpoints.isAdapter(model)) this.metrics.countIncoming(r.requested);
    this.run(res, {
      method: r.payload === null ? 'GET' : 'POST', path: r.enginePath, payload: r.payload,
      headers: this.engineHeaders(r.requestId, r.clientHeaders, r.contentType),
      requestId: r.requestId, requested: r.requested, routed: { model, sessionId: r.sessionId, prompt: r.prompt }, arrival: r.arrival, pinned: r.pinned,
    });
  }

  /** Forwards engine administration; what succeeds changes the router's view of the engine too. */
  forwardAdmin(res: ClientResponse, r: AdminRequest): void {
    const sleeping = r.path === '/sleep' ? true : r.path === '/wake_up' ? false : null;
    const lora = (LORA_ADMIN_ROUTES as readonly string[]).includes(r.path);
    this.run(res, {
      method: r.path === '/is_sleeping' ? 'GET' : 'POST', path: r.enginePath, payload: r.payload,
      headers: this.engineHeaders(r.requestId, r.clientHeaders, r.contentType),
      requestId: r.requestId, requested: '', routed: { model: '', sessionId: null, prompt: '' }, arrival: r.arrival, pinned: r.pinned,
      answered: lora ? (endpoint, status) => {
        if (status >= 200 && status < 300) this.backends.adapterChanged(endpoint, r.path, r.payload);
      } : sleeping === null ? undefined : (endpoint, status) => {
        if (status >= 200 && status < 300) endpoint.sleeping = sleeping;
      },
    });
  }

  /** Forwards a request in two legs, prefill then decode; throws for a model no engine has served. */
  forwardSplit(res: ClientResponse, r: SplitForward): void {
    if (this.endpoints.modelsSeen.has(r.model)) this.metrics.countIncoming(r.requested);
    else throw errors.notFound(`The model \`${r.requested}\` does not exist.`);
    this.inFlight++;
    this.runners.split(this, res, {
      logic: r.logic, labels: this.options.pdLabels, body: r.body,
      spec: {
        method: 'POST', path: r.enginePath, headers: this.engineHeaders(r.requestId, r.clientHeaders, 'application/json'), requestId: r.requestId,
        requested: r.requested, routed: { model: r.model, sessionId: r.sessionId, prompt: '' }, arrival: r.arrival, pinned: null,
      },
    });
  }

  private engineHeaders(requestId: string, clientHeaders: string[], contentType: string | null): string[] {
    return [...(contentType === null ? [] : ['content-type', contentType]), 'x-request-id', requestId, ...this.engineAuthHeader, ...clientHeaders];
  }

  private run(res: ClientResponse, spec: ForwardSpec): void {
    this.inFlight++;
    this.runners.proxy(this, res, spec);
  }

  pool(url: string): EnginePool {
    return this.pools.get(url) as EnginePool;
  }

  choose(candidates: Endpoint[], request: RoutedRequest): Endpoint {
    const algorithm = this.backends.policy.algorithm;
    const adapter = candidates[0]?.lora.served.has(request.model) ? request.model : null;
    if (adapter === null) return algorithm.choose(candidates, request) as Endpoint;
    const among = this.options.loraAffinity ? preferResident(candidates, (e) => e.lora.resident(adapter)) : candidates;
    const chosen = algorithm.choose(among, request) as Endpoint;
    chosen.lora.routed(adapter);
    return chosen;
  }

  /** production-stack's decision line (its e2e routing test reads it), written before the request is forwarded. */
  decided(spec: ForwardSpec, endpoint: Endpoint, attempt: number): void {
    if (!this.log.enabled('info')) return;
    const session = spec.routed.sessionId;
    const at = Date.now() / 1000;
    const processTime = (performance.now() - spec.arrival) / 1000;
    const text = `Routing request ${textValue(spec.requestId)} with session id ${session === null ? 'None' : textValue(session)} to ${endpoint.url} at ${at.toFixed(6)}, process time = ${processTime.toFixed(4)}`;
    if (this.options.logFormat === 'text') this.log.log('info', text);
    else this.log.log('info', text, { id: spec.requestId, session_id: session, engine: endpoint.url, at, process_time_s: processTime, attempt });
  }

  /** Answers the router's own error to the client. */
  fail(path: string, res: ClientResponse, err: RouterError, requestId: string): void {
    answerError(this.log, path, res, err, requestId);
  }

  /** The request is over, whichever way it ended. */
  done(): void {
    this.inFlight--;
  }

  startDeadlines(): void {
    this.awaitingHeaders.start();
    this.idleStreams.start();
  }

  /** Stops the deadlines and closes the pools, once the requests are over. */
  close(): Promise<void> {
    this.awaitingHeaders.stop();
    this.idleStreams.stop();
    return Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined))).then(() => undefined);
  }
}
