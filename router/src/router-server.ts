// The router's front: routes, authentication, limits and the body check,
// then a ProxiedRequest takes the request to an engine. Requests arrive by
// the fast path (plain POSTs) or by Node's HTTP server (everything else);
// both are served here the same way. Also the endpoint set, dynamic config
// and lifecycle. Nothing a client sends may crash it, and what a client gets
// wrong is answered in the OpenAI error shape, malformed HTTP included.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, maxHeaderSize, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { DeadlineSweep } from './deadlines.js';
import { createDiscovery, type DiscoverySource } from './discovery/index.js';
import type { DynamicConfig } from './backends/dynamic-config.js';
import { EndpointSet, type BackendSpec, type Endpoint, type ModelCard, type OutlierPolicy } from './backends/endpoints.js';
import { EngineWatch } from './backends/engine-watch.js';
import { errorBody, errors, RouterError } from './errors.js';
import type { ClientResponse } from './http1/client-response.js';
import { EnginePool } from './http1/engine-pool.js';
import { installFastPath, type FastPath } from './http1/fast-path.js';
import { scanHeaders, type IncomingHeaders } from './front/incoming-headers.js';
import { Logger, textValue } from './logger.js';
import { RouterMetrics } from './forward/metrics.js';
import type { RouterOptions } from './options.js';
import { ProxiedRequest, type ForwardContext, type ForwardSpec } from './forward/proxied-request.js';
import { isMultipart, parseForm, parseJsonBody, promptOf } from './front/request-body.js';
import { LORA_ADMIN_ROUTES, preferResident } from './lora/index.js';
import { runDisaggregated } from './forward/disaggregated-request.js';
import { DISAGGREGATED_PATHS } from './routing/disaggregated-prefill.js';
import { createAlgorithm, isDisaggregated, type RoutedRequest, type RoutingAlgorithm, type RoutingLogic } from './routing/index.js';

export const VERSION = '0.1.0';

/** Routes proxied to an engine chosen by the request's model, and the method each takes. */
const PROXIED: Record<string, 'POST' | 'GET'> = {
  '/v1/chat/completions': 'POST', '/v1/completions': 'POST', '/v1/embeddings': 'POST', '/tokenize': 'POST', '/detokenize': 'POST',
  '/v1/responses': 'POST', '/v1/rerank': 'POST', '/rerank': 'POST', '/v1/score': 'POST', '/score': 'POST', '/v1/messages': 'POST',
  '/v1/audio/voices': 'GET',
};
/** Every POST under these is proxied too (speech, transcriptions, translations; generations, edits, …). */
const PROXIED_PREFIXES = ['/v1/audio/', '/v1/images/'];
/** Engine administration, sent to the engine named by ?id= (production-stack's sleep mode routes). */
const ADMIN: Record<string, 'POST' | 'GET'> = {
  '/sleep': 'POST', '/wake_up': 'POST', '/is_sleeping': 'GET', ...Object.fromEntries(LORA_ADMIN_ROUTES.map((r) => [r, 'POST' as const])),
};
const JSON_HEADERS = ['content-type', 'application/json'];
const KEEP_ALIVE_MS = 65_000;
/** How long a connection closed after an error answer may linger, so the client reads the answer before the close. */
const LINGER_MS = 1000;

/** Hands the request body over once it is all here (or the error that stopped it). */
type BodySource = (done: (err: unknown, body: Buffer | null) => void) => void;

/** Collects the body up to `limit` bytes; calls back once, with a 413 past the limit. */
function readBody(req: IncomingMessage, limit: number, done: (err: unknown, body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (err: unknown, body: Buffer | null) => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) return finish(errors.tooLarge(limit), null);
    if (!settled) chunks.push(c);
  });
  req.on('end', () => finish(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
  req.on('error', (err) => finish(err, null));
}

const NO_QUERY = { id: null, rest: '' } as const;

/** The query string without `id` (which names an engine for the router), '' when nothing is left. */
function queryWithoutId(query: string): { id: string | null; rest: string } {
  if (query === '') return NO_QUERY;
  const params = new URLSearchParams(query);
  const id = params.get('id');
  params.delete('id');
  const rest = params.toString();
  return { id, rest: rest === '' ? '' : `?${rest}` };
}

export class RouterServer implements ForwardContext {
  readonly server: Server;
  readonly endpoints: EndpointSet;
  readonly metrics: RouterMetrics;
  readonly log: Logger;
  readonly discovery: DiscoverySource;
  private algorithm: RoutingAlgorithm;
  private routingLogic: RoutingLogic;
  private prefixMinMatchLength: number;
  private sessionKey: string;
  /** The session key as a header name, lower-cased once rather than per request. */
  private sessionHeader: string;
  private aliases: Record<string, string>;
  private readonly pools = new Map<string, EnginePool>();
  private readonly watch: EngineWatch;
  private readonly clientKey: Buffer | null;
  private readonly engineAuthHeader: string[];
  private readonly fastPath: FastPath;
  private inFlight = 0;
  private listening = false;
  /** SIGTERM: answers say connection: close, and connections close once idle. */
  private draining = false;
  /** node:http answers in progress, by connection: an error on a busy connection must not write into an answer. */
  private readonly busy = new WeakMap<Socket, number>();
  /** Connections to close once their answers in progress are out. */
  private readonly closeWhenIdle = new WeakSet<Socket>();
  private readonly nodeResponses = new Set<ServerResponse>();
  readonly failoverAttempts: number;
  readonly headersTimeoutMs: number;
  readonly awaitingHeaders: DeadlineSweep;
  readonly streamIdleMs: number;
  readonly idleStreams: DeadlineSweep;
  readonly outlier: OutlierPolicy;
  private readonly clientRequestMs: number;
  private readonly clientRequests: DeadlineSweep;

  /** `discovery`: the source of the engines, when loaded beforehand (loadDiscovery: Kubernetes); static by default. */
  constructor(readonly options: RouterOptions, discovery?: DiscoverySource) {
    this.log = new Logger(options.logFormat, options.logLevel);
    this.endpoints = new EndpointSet(options.requestStatsWindow);
    this.metrics = new RouterMetrics(this.endpoints);
    this.routingLogic = options.routingLogic;
    this.prefixMinMatchLength = options.prefixMinMatchLength;
    this.algorithm = createAlgorithm(options.routingLogic, options.prefixMinMatchLength, options.prefixLoadWeight);
    this.sessionKey = options.sessionKey;
    this.sessionHeader = options.sessionKey.toLowerCase();
    this.aliases = options.staticAliases;
    this.failoverAttempts = options.maxInstanceFailoverRerouteAttempts;
    this.headersTimeoutMs = options.requestTimeout * 1000;
    this.streamIdleMs = options.streamIdleTimeout * 1000;
    this.clientRequestMs = options.clientRequestTimeout * 1000;
    // Each sweep notices a passed deadline within a quarter of its timeout (at most a second).
    const sweep = (ms: number) => new DeadlineSweep(Math.max(5, Math.min(1000, ms / 4)));
    this.awaitingHeaders = sweep(this.headersTimeoutMs);
    this.idleStreams = sweep(this.streamIdleMs);
    this.clientRequests = sweep(this.clientRequestMs);
    this.outlier = { consecutive5xx: options.outlierConsecutive5xx, ejectionMs: options.outlierEjectionTime * 1000 };
    this.clientKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    const engineAuth: Record<string, string> = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
    this.engineAuthHeader = Object.entries(engineAuth).flat();
    this.watch = new EngineWatch(this.endpoints, engineAuth, (level, m) => this.log.log(level, m), {
      active: options.staticBackendHealthChecks,
      intervalMs: options.staticBackendHealthCheckInterval * 1000,
      timeoutMs: options.staticBackendHealthCheckTimeout * 1000,
    });
    this.discovery = discovery ?? createDiscovery(options);
    this.discovery.start((backends) => this.replaceBackends(backends), (level, message, fields) => this.log.log(level, message, fields));
    const limit = options.maxBodySize;
    // Node checks its request timeout on an interval: often enough for the bound to hold within a quarter of it.
    this.server = createServer({ connectionsCheckingInterval: Math.max(10, Math.min(30_000, this.clientRequestMs / 4)) }, (req, res) => {
      this.trackNodeResponse(req.socket, res);
      this.serve(req.method ?? 'GET', req.url ?? '/', req.rawHeaders, res, (done) => readBody(req, limit, done));
    });
    this.server.keepAliveTimeout = KEEP_ALIVE_MS;
    this.server.requestTimeout = this.clientRequestMs;
    this.server.headersTimeout = this.clientRequestMs;
    this.server.maxConnections = options.maxConnections;
    this.fastPath = installFastPath(this.server, {
      request: (r) => this.serve(r.method, r.url, r.rawHeaders, r.response, (done) => done(null, r.body)),
      timedOut: (socket) => this.answerOnSocket(socket, errors.requestTimeout(options.clientRequestTimeout)),
    }, {
      maxBodySize: limit, maxHeaderBytes: maxHeaderSize, keepAliveMs: KEEP_ALIVE_MS,
      requestDeadlines: this.clientRequests, requestDeadline: () => performance.now() + this.clientRequestMs,
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
  }

  /** The one place the endpoint set changes: discovery sources and the dynamic config come here. */
  replaceBackends(backends: BackendSpec[]): void {
    // Pools first: if one cannot be made, nothing has changed yet.
    const pools = backends.filter((b) => !this.pools.has(b.url)).map((b) => [b.url, new EnginePool(b.url, { connections: this.options.maxConcurrency })] as const);
    const { added, removed } = this.endpoints.replace(backends);
    for (const url of removed) {
      const pool = this.pools.get(url);
      this.pools.delete(url);
      // In-flight requests finish on the old pool; it closes once they have.
      pool?.close().catch(() => undefined);
      this.metrics.forget(url);
    }
    // As many connections as requests may be in flight: the engines queue, not the router.
    for (const [url, pool] of pools) this.pools.set(url, pool);
    if (removed.length > 0) this.algorithm.retain?.(new Set(this.endpoints.all().map((e) => e.url)));
    // A newcomer's load and model objects are read now, not at the next scrape.
    if (this.listening) for (const e of added) void this.watch.scrape(e);
  }

  /** Applies a dynamic config without dropping in-flight requests. */
  applyConfig(c: DynamicConfig): void {
    const before = this.endpoints.all().map((e) => e.url).join(',');
    // Under Kubernetes discovery the pods decide the engines: a file's list would be overwritten at the next event.
    if (c.backends && this.options.serviceDiscovery !== 'static') this.log.log('error', `dynamic config: static_backends ignored, because --service-discovery ${this.options.serviceDiscovery} finds the engines; the file's other settings apply`);
    else if (c.backends) this.replaceBackends(c.backends);
    const changes: string[] = [];
    const after = this.endpoints.all().map((e) => e.url).join(',');
    if (before !== after) changes.push(`backends ${after || '(none)'}`);
    let logic = c.routingLogic ?? this.routingLogic;
    if (isDisaggregated(logic) && this.options.pdLabels.prefill.length === 0) {
      this.log.log('warn', `dynamic config: routing ${logic} needs the router started with --prefill-model-labels and --decode-model-labels; keeping ${this.routingLogic}`);
      logic = this.routingLogic;
    }
    const minMatch = c.prefixMinMatchLength ?? this.prefixMinMatchLength;
    if (logic !== this.routingLogic || minMatch !== this.prefixMinMatchLength) {
      this.routingLogic = logic;
      this.prefixMinMatchLength = minMatch;
      this.algorithm = createAlgorithm(logic, minMatch, this.options.prefixLoadWeight);
      changes.push(`routing ${logic} (prefix min match ${minMatch})`);
    }
    if (c.sessionKey && c.sessionKey !== this.sessionKey) {
      this.sessionKey = c.sessionKey;
      this.sessionHeader = c.sessionKey.toLowerCase();
      changes.push(`session key ${c.sessionKey}`);
    }
    if (c.aliases) this.aliases = c.aliases;
    if (changes.length > 0) this.log.log('info', `dynamic config applied: ${changes.join('; ')}`);
  }

  /** Answers the router's own errors in the OpenAI shape, with the request id, and logs them as requests. */
  fail(url: string, res: ClientResponse, err: unknown, requestId: string): void {
    const e = err instanceof RouterError ? err : new RouterError(500, 'internal_error', `router error: ${(err as Error).message}`);
    if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, path: url, status: e.status, error: e.code });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(e.status, [...JSON_HEADERS, 'x-request-id', requestId, ...Object.entries(e.headers).flat()]);
    res.end(errorBody(e));
  }

  /**
   * Answers an error straight on a socket that has no request object (bad
   * HTTP, a request not complete in time) and closes the connection, after a
   * moment for the client to read the answer.
   */
  private answerOnSocket(socket: Socket, err: RouterError): void {
    const requestId = randomUUID();
    if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, status: err.status, error: err.code });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = errorBody(err);
    socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /** Node's parser refused what a client sent, or its request was not complete in time. */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable || this.closeWhenIdle.has(socket)) {
      if (!this.closeWhenIdle.has(socket)) socket.destroy();
      return;
    }
    if ((this.busy.get(socket) ?? 0) > 0) {
      // An answer is being written on this connection: nothing may go into the middle of it. It closes once the answer is out.
      this.closeWhenIdle.add(socket);
      return;
    }
    this.closeWhenIdle.add(socket);
    const e = err.code === 'HPE_HEADER_OVERFLOW' ? errors.headersTooLarge()
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? errors.requestTimeout(this.options.clientRequestTimeout)
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? errors.tooLarge(this.options.maxBodySize)
          : errors.badHttp((err as { reason?: string }).reason ?? err.message);
    this.answerOnSocket(socket, e);
  }

  private trackNodeResponse(socket: Socket, res: ServerResponse): void {
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    this.nodeResponses.add(res);
    if (this.draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.nodeResponses.delete(res);
      const left = (this.busy.get(socket) ?? 1) - 1;
      this.busy.set(socket, left);
      if (left === 0 && this.closeWhenIdle.has(socket)) socket.end();
      // Draining: a keep-alive connection that just went idle closes now, not at its keep-alive timeout.
      if (this.draining) setImmediate(() => this.server.closeIdleConnections());
    });
  }

  pool(url: string): EnginePool {
    return this.pools.get(url) as EnginePool;
  }

  choose(candidates: Endpoint[], request: RoutedRequest): Endpoint {
    const adapter = candidates[0]?.lora.served.has(request.model) ? request.model : null;
    if (adapter === null) return this.algorithm.choose(candidates, request) as Endpoint;
    const among = this.options.loraAffinity ? preferResident(candidates, (e) => e.lora.resident(adapter)) : candidates;
    const chosen = this.algorithm.choose(among, request) as Endpoint;
    chosen.lora.routed(adapter);
    return chosen;
  }

  /** A load or unload through this router succeeded: the engine's adapters change now, and its models are read again. */
  private adapterChanged(endpoint: Endpoint, path: string, payload: Buffer | null): void {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(payload?.toString('utf8') ?? '{}') as Record<string, unknown>;
    } catch {
      // The engine accepted it; the re-read below says what changed.
    }
    const name = typeof body.lora_name === 'string' ? body.lora_name : '';
    if (name !== '' && path.startsWith('/v1/load_lora_adapter')) {
      endpoint.lora.loaded(name, endpoint.models[0] ?? '');
      this.endpoints.adaptersSeen.add(name);
    } else if (name !== '') {
      endpoint.lora.unloaded(name);
      endpoint.models = endpoint.models.filter((m) => m !== name);
    }
    void this.watch.scrape(endpoint);
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

  done(): void {
    this.inFlight--;
  }

  private authorized(authorization: string | null): boolean {
    if (!this.clientKey) return true;
    const given = Buffer.from(authorization ?? '');
    return given.length === this.clientKey.length && timingSafeEqual(given, this.clientKey);
  }

  private serve(method: string, url: string, rawHeaders: string[], res: ClientResponse, body: BodySource): void {
    const headers = scanHeaders(rawHeaders, this.sessionHeader);
    const requestId = headers.requestId || randomUUID();
    try {
      if (headers.hosts > 1) throw errors.badRequest('more than one Host header (RFC 9112 §3.2 allows one)');
      this.route(method, url, res, headers, requestId, body);
    } catch (err) {
      this.fail(url, res, err, requestId);
    }
  }

  private answer(res: ClientResponse, headers: string[], text: string, status = 200): void {
    res.writeHead(status, headers);
    res.end(text);
  }

  private route(method: string, url: string, res: ClientResponse, headers: IncomingHeaders, requestId: string, body: BodySource): void {
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    const root = this.options.rootPath;
    // Served with and without the root path, as production-stack's FastAPI app is.
    if (root !== '' && (path === root || path.startsWith(`${root}/`))) path = path.slice(root.length) || '/';
    const query = q < 0 ? '' : url.slice(q + 1);
    if (method === 'GET') {
      if (path === '/health') {
        if (this.discovery.healthy()) return this.answer(res, JSON_HEADERS, '{"status":"healthy"}');
        const reason = this.discovery.problem?.() ?? null;
        return this.answer(res, JSON_HEADERS, JSON.stringify({ status: `service discovery (${this.discovery.name}) has lost sight of the engines`, ...(reason ? { reason } : {}) }), 503);
      }
      if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => this.answer(res, ['content-type', this.metrics.registry.contentType], text),
          (err: unknown) => this.fail(url, res, err, requestId),
        );
        return;
      }
      if (path === '/version') return this.answer(res, JSON_HEADERS, JSON.stringify({ name: 'vllm-router', version: VERSION }));
      if (path === '/engines') {
        const discovery = this.discovery.describe?.();
        return this.answer(res, JSON_HEADERS, JSON.stringify({ routing_logic: this.routingLogic, session_key: this.sessionKey, engines: this.endpoints.all().map((e) => e.snapshot()), ...(discovery ? { discovery } : {}) }));
      }
      if (path === '/v1/models') {
        if (!this.authorized(headers.authorization)) throw errors.unauthorized();
        return this.answer(res, JSON_HEADERS, JSON.stringify({ object: 'list', data: this.modelCards() }));
      }
    }
    const admin = ADMIN[path];
    const proxied = PROXIED[path] ?? (PROXIED_PREFIXES.some((p) => path.startsWith(p)) ? 'POST' : undefined);
    const wanted = admin ?? proxied;
    if (!wanted) throw errors.notFound(`no route ${method} ${path}`);
    if (method !== wanted) throw new RouterError(405, 'method_not_allowed', `${path} accepts ${wanted}, not ${method}`);
    if (!this.authorized(headers.authorization)) throw errors.unauthorized();
    if (headers.contentLength > this.options.maxBodySize) throw errors.tooLarge(this.options.maxBodySize);
    const arrival = performance.now();
    const { id, rest } = queryWithoutId(query);
    const target = { path, enginePath: `${path}${rest}`, pinned: id, admin: admin !== undefined };
    if (method === 'GET') return this.forward(res, target, null, headers, requestId, arrival);
    // A request takes a --max-concurrency slot only once its body is here: stalled uploads hold none.
    body((err, raw) => {
      try {
        if (err) throw err;
        this.forward(res, target, raw as Buffer, headers, requestId, arrival);
      } catch (e) {
        this.fail(url, res, e, requestId);
      }
    });
  }

  /** The model objects of /v1/models: the engines' own (root, parent, max_model_len, …) where they have sent them, one per id. */
  private modelCards(): ModelCard[] {
    const created = Math.floor(Date.now() / 1000);
    const byId = new Map<string, ModelCard>();
    for (const e of this.endpoints.all()) {
      for (const m of e.models) {
        if (!byId.has(m)) byId.set(m, e.cards?.get(m) ?? { id: m, object: 'model', created, owned_by: 'vllm', root: null, parent: null });
      }
      // Each adapter once, with its parent, however many engines hold it.
      for (const [m, parent] of e.lora.served) {
        if (!byId.has(m)) byId.set(m, e.cards?.get(m) ?? { id: m, object: 'model', created, owned_by: 'vllm', root: null, parent });
      }
    }
    for (const [alias, target] of Object.entries(this.aliases)) {
      const card = byId.get(target);
      if (card && !byId.has(alias)) byId.set(alias, { ...card, id: alias });
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Reads what routing needs from the body and hands the request to a ProxiedRequest; throws the client's mistakes. */
  private forward(res: ClientResponse, target: { path: string; enginePath: string; pinned: string | null; admin: boolean }, raw: Buffer | null, headers: IncomingHeaders, requestId: string, arrival: number): void {
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
    if (target.admin) {
      if (target.pinned === null) throw errors.badRequest(`${target.path} needs the engine's id as ?id= (see /engines)`, 'id');
      const sleeping = target.path === '/sleep' ? true : target.path === '/wake_up' ? false : null;
      const lora = (LORA_ADMIN_ROUTES as readonly string[]).includes(target.path);
      return this.start(res, {
        method: target.path === '/is_sleeping' ? 'GET' : 'POST', path: target.enginePath, payload: raw && raw.length > 0 ? raw : null,
        headers: this.engineHeaders(requestId, headers, raw && raw.length > 0 ? headers.contentType ?? 'application/json' : null),
        requestId, requested: '', routed: { model: '', sessionId: null, prompt: '' }, arrival, pinned: target.pinned,
        answered: lora ? (endpoint, status) => {
          if (status >= 200 && status < 300) this.adapterChanged(endpoint, target.path, raw);
        } : sleeping === null ? undefined : (endpoint, status) => {
          if (status >= 200 && status < 300) endpoint.sleeping = sleeping;
        },
      });
    }
    if (raw === null) {
      const model = new URLSearchParams(target.enginePath.split('?')[1] ?? '').get('model');
      if (!model) throw errors.badRequest(`${target.path} needs the model as ?model=`, 'model');
      return this.routeModel(res, target, model, null, null, headers, requestId, arrival, '', null);
    }
    if (isMultipart(headers.contentType)) {
      const contentType = headers.contentType as string;
      parseForm(raw, contentType).then(async (form) => {
        if (form.model === null) throw errors.badRequest('the form has no model field', 'model');
        const model = this.aliases[form.model] ?? form.model;
        const rewritten = model === form.model ? { payload: raw, contentType } : await form.withModel(model);
        this.routeModel(res, target, form.model, rewritten.payload, rewritten.contentType, headers, requestId, arrival, '', null);
      }).catch((e: unknown) => this.fail(target.path, res, e, requestId));
      return;
    }
    const body = parseJsonBody(raw);
    if (typeof body.model !== 'string' || body.model === '') throw errors.badRequest('model must be a non-empty string', 'model');
    const requested = body.model;
    const model = this.aliases[requested] ?? requested;
    // Headers arrive lower-cased; a body field keeps the case the user configured.
    const bodySession = body[this.sessionKey];
    const sessionId = headers.session ?? (typeof bodySession === 'string' || typeof bodySession === 'number' ? String(bodySession) : null);
    const logic = this.routingLogic;
    if (isDisaggregated(logic) && DISAGGREGATED_PATHS.has(target.path) && target.pinned === null) {
      if (this.endpoints.modelsSeen.has(model)) this.metrics.countIncoming(requested);
      else throw errors.notFound(`The model \`${requested}\` does not exist.`);
      this.inFlight++;
      return runDisaggregated(this, res, {
        logic, labels: this.options.pdLabels, body: { ...body, model },
        spec: {
          method: 'POST', path: target.enginePath, headers: this.engineHeaders(requestId, headers, 'application/json'), requestId, requested,
          routed: { model, sessionId, prompt: '' }, arrival, pinned: null,
        },
      });
    }
    const payload = model === requested ? raw : Buffer.from(JSON.stringify({ ...body, model }));
    this.routeModel(res, target, requested, payload, 'application/json', headers, requestId, arrival, this.routingLogic === 'prefixaware' ? promptOf(body) : '', sessionId);
  }

  private routeModel(res: ClientResponse, target: { enginePath: string; pinned: string | null }, requested: string, payload: Buffer | null, contentType: string | null, headers: IncomingHeaders, requestId: string, arrival: number, prompt: string, sessionId: string | null): void {
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
    const model = this.aliases[requested] ?? requested;
    // Only names the router knows become metric labels: invented ones would make a series each.
    if (this.endpoints.modelsSeen.has(model) || this.endpoints.isAdapter(model)) this.metrics.countIncoming(requested);
    this.start(res, {
      method: payload === null ? 'GET' : 'POST', path: target.enginePath, payload,
      headers: this.engineHeaders(requestId, headers, contentType),
      requestId, requested, routed: { model, sessionId: sessionId ?? headers.session, prompt }, arrival, pinned: target.pinned,
    });
  }

  private engineHeaders(requestId: string, headers: IncomingHeaders, contentType: string | null): string[] {
    return [...(contentType === null ? [] : ['content-type', contentType]), 'x-request-id', requestId, ...this.engineAuthHeader, ...headers.forward];
  }

  private start(res: ClientResponse, spec: ForwardSpec): void {
    this.inFlight++;
    new ProxiedRequest(this, res, spec).start();
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const a = this.server.address();
        this.listening = true;
        this.watch.start(this.options.engineStatsInterval);
        this.awaitingHeaders.start();
        this.idleStreams.start();
        this.clientRequests.start();
        resolve(typeof a === 'object' && a ? a.port : this.options.port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish up to the bound, then closes everything. */
  close(timeoutMs = this.options.drainTimeout * 1000): Promise<void> {
    this.draining = true;
    this.watch.stop();
    this.discovery.stop();
    for (const res of this.nodeResponses) if (!res.headersSent) res.setHeader('connection', 'close');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.closeAllConnections();
        this.fastPath.closeAll();
      }, timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        this.awaitingHeaders.stop();
        this.idleStreams.stop();
        this.clientRequests.stop();
        Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined))).then(() => resolve());
      });
      this.server.closeIdleConnections();
      this.fastPath.closeIdle();
    });
  }
}
