// The request path: authenticate, read and check the body, pick an engine,
// proxy (streaming chunk by chunk, both ways), fail over when a connection
// fails before any response header, and answer every error in the OpenAI
// shape. Nothing a client sends may crash it.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { DynamicConfig } from './dynamic-config.js';
import { EndpointSet, type BackendSpec, type Endpoint } from './endpoints.js';
import { EngineWatch } from './engine-watch.js';
import { errorBody, errors, RouterError } from './errors.js';
import { Logger } from './logger.js';
import { RouterMetrics } from './metrics.js';
import type { RouterOptions } from './options.js';
import { createAlgorithm, type RoutingAlgorithm, type RoutingLogic } from './routing/index.js';

export const VERSION = '0.1.0';

/** A client that went away: set when its response closes unfinished (cheaper than an AbortController per request). */
interface Cancel {
  cancelled: boolean;
  upstream: (() => void) | null;
}
const PROXIED = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/tokenize', '/detokenize']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const JSON_HEADERS = { 'content-type': 'application/json' };

function promptOf(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) {
    return body.messages.map((m) => {
      const c = (m as { content?: unknown })?.content;
      return typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => (p as { text?: string })?.text ?? '').join('') : '';
    }).join('\n');
  }
  if (typeof body.prompt === 'string') return body.prompt;
  if (Array.isArray(body.prompt)) return body.prompt.filter((p) => typeof p === 'string').join('\n');
  return '';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return reject(errors.tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A connection failure that happened before any response header: safe to retry elsewhere. */
function retryable(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)
    || err instanceof undiciErrors.SocketError;
}

export class RouterServer {
  readonly server: Server;
  readonly endpoints: EndpointSet;
  readonly metrics: RouterMetrics;
  readonly log: Logger;
  private algorithm: RoutingAlgorithm;
  private routingLogic: RoutingLogic;
  private prefixMinMatchLength: number;
  private sessionKey: string;
  private aliases: Record<string, string>;
  private readonly pools = new Map<string, Pool>();
  private readonly watch: EngineWatch;
  private readonly clientKey: Buffer | null;
  private readonly engineAuth: Record<string, string>;
  private inFlight = 0;

  constructor(readonly options: RouterOptions) {
    this.log = new Logger(options.logFormat, options.logLevel);
    this.endpoints = new EndpointSet(options.requestStatsWindow);
    this.metrics = new RouterMetrics(this.endpoints);
    this.routingLogic = options.routingLogic;
    this.prefixMinMatchLength = options.prefixMinMatchLength;
    this.algorithm = createAlgorithm(options.routingLogic, options.prefixMinMatchLength);
    this.sessionKey = options.sessionKey;
    this.aliases = options.staticAliases;
    this.clientKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    this.engineAuth = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
    this.setBackends(options.staticBackends.map((url, i) => ({ url, models: options.staticModels[i] ? [options.staticModels[i] as string] : [] })));
    this.watch = new EngineWatch(this.endpoints, this.engineAuth, (m) => this.log.log('info', m));
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      this.handle(req, res, requestId).catch((err: unknown) => this.sendError(req, res, err, requestId));
    });
    this.server.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    });
  }

  private setBackends(backends: BackendSpec[]): void {
    // Pools first: if one cannot be made, nothing has changed yet.
    const pools = backends.filter((b) => !this.pools.has(b.url)).map((b) => [b.url, new Pool(b.url, { connections: this.options.maxConcurrency, pipelining: 1, keepAliveTimeout: 60_000 })] as const);
    const { removed } = this.endpoints.replace(backends);
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
  }

  /** Applies a dynamic config without dropping in-flight requests. */
  applyConfig(c: DynamicConfig): void {
    const before = this.endpoints.all().map((e) => e.url).join(',');
    if (c.backends) this.setBackends(c.backends);
    const changes: string[] = [];
    const after = this.endpoints.all().map((e) => e.url).join(',');
    if (before !== after) changes.push(`backends ${after || '(none)'}`);
    const logic = c.routingLogic ?? this.routingLogic;
    const minMatch = c.prefixMinMatchLength ?? this.prefixMinMatchLength;
    if (logic !== this.routingLogic || minMatch !== this.prefixMinMatchLength) {
      this.routingLogic = logic;
      this.prefixMinMatchLength = minMatch;
      this.algorithm = createAlgorithm(logic, minMatch);
      changes.push(`routing ${logic} (prefix min match ${minMatch})`);
    }
    if (c.sessionKey && c.sessionKey !== this.sessionKey) {
      this.sessionKey = c.sessionKey;
      changes.push(`session key ${c.sessionKey}`);
    }
    if (c.aliases) this.aliases = c.aliases;
    if (changes.length > 0) this.log.log('info', `dynamic config applied: ${changes.join('; ')}`);
  }

  /** Answers the router's own errors in the OpenAI shape, with the request id, and logs them as requests. */
  private sendError(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string): void {
    const e = err instanceof RouterError ? err : new RouterError(500, 'internal_error', `router error: ${(err as Error).message}`);
    if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, path: req.url ?? '', status: e.status, error: e.code });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(e.status, { ...JSON_HEADERS, 'x-request-id': requestId, ...e.headers }).end(errorBody(e));
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.clientKey) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === this.clientKey.length && timingSafeEqual(given, this.clientKey);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/health') return void res.writeHead(200, JSON_HEADERS).end('{"status":"healthy"}');
      if (path === '/metrics') {
        const text = await this.metrics.registry.metrics();
        return void res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text);
      }
      if (path === '/version') return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ name: 'vllm-router', version: VERSION }));
      if (path === '/engines') {
        return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ routing_logic: this.routingLogic, session_key: this.sessionKey, engines: this.endpoints.all().map((e) => e.snapshot()) }));
      }
      if (path === '/v1/models') {
        if (!this.authorized(req)) throw errors.unauthorized();
        const created = Math.floor(Date.now() / 1000);
        const ids = [...new Set([...this.endpoints.models(), ...Object.keys(this.aliases)])].sort();
        return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'vllm' })) }));
      }
    }
    if (!PROXIED.has(path)) throw errors.notFound(`no route ${method} ${path}`);
    if (method !== 'POST') throw new RouterError(405, 'method_not_allowed', `${path} accepts POST, not ${method}`);
    if (!this.authorized(req)) throw errors.unauthorized();
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
    this.inFlight++;
    try {
      await this.proxy(req, res, path, requestId);
    } finally {
      this.inFlight--;
    }
  }

  private async proxy(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): Promise<void> {
    const arrival = performance.now();
    const raw = await readBody(req, this.options.maxBodySize);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the request body must be a JSON object');
    if (typeof body.model !== 'string' || body.model === '') throw errors.badRequest('model must be a non-empty string', 'model');
    const requested = body.model;
    const model = this.aliases[requested] ?? requested;
    this.metrics.countIncoming(requested);
    // Headers arrive lower-cased; a body field keeps the case the user configured.
    const headerSession = req.headers[this.sessionKey.toLowerCase()];
    const bodySession = body[this.sessionKey];
    const sessionId = typeof headerSession === 'string' ? headerSession : typeof bodySession === 'string' || typeof bodySession === 'number' ? String(bodySession) : null;
    const routed = { model, sessionId, prompt: this.routingLogic === 'prefixaware' ? promptOf(body) : '' };
    const payload = model === requested ? raw : Buffer.from(JSON.stringify({ ...body, model }));
    const tried = new Set<string>();
    const cancel: Cancel = { cancelled: false, upstream: null };
    res.once('close', () => {
      if (res.writableFinished) return;
      cancel.cancelled = true;
      cancel.upstream?.();
    });
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= 1 + this.options.maxInstanceFailoverRerouteAttempts; attempt++) {
      const candidates = this.endpoints.candidates(model, tried);
      if (candidates.length === 0) {
        if (tried.size > 0) break;
        if (this.endpoints.modelsSeen.has(model)) throw errors.unavailable(`no engine serving ${model} is available now; retry later`);
        throw errors.notFound(`The model \`${requested}\` does not exist.`);
      }
      const endpoint = this.algorithm.choose(candidates, routed) as Endpoint;
      tried.add(endpoint.url);
      try {
        await this.forward(req, res, endpoint, path, payload, requestId, attempt, arrival, cancel, requested);
        return;
      } catch (err) {
        if (cancel.cancelled) return;
        if (err instanceof RouterError) throw err;
        lastError = err;
        this.metrics.countError(endpoint.url, requested, (err as { code?: string }).code ?? 'error');
        if (endpoint.failed(Date.now())) this.log.log('warn', `engine ${endpoint.url} ejected after ${endpoint.consecutiveFailures} consecutive failures`);
        if (res.headersSent || !retryable(err)) break;
      }
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if ((lastError as { code?: string })?.code === 'UND_ERR_HEADERS_TIMEOUT') throw errors.timeout(this.options.requestTimeout);
    throw errors.badGateway(`no engine could be reached for ${requested} after ${tried.size} attempt(s): ${(lastError as Error)?.message ?? 'unknown error'}`);
  }

  private forward(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, path: string, payload: Buffer, requestId: string, attempt: number, arrival: number, cancel: Cancel, model: string): Promise<void> {
    const pool = this.pools.get(endpoint.url) as Pool;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId, ...this.engineAuth };
    for (const [k, v] of Object.entries(req.headers as IncomingHttpHeaders)) {
      if (typeof v === 'string' && !HOP_BY_HOP.has(k) && k !== 'authorization' && k !== 'content-type' && k !== 'content-length') headers[k] = v;
    }
    endpoint.inFlight++;
    endpoint.awaitingFirstByte++;
    endpoint.stats.started();
    let firstByte = false;
    const markFirst = () => {
      if (firstByte) return;
      firstByte = true;
      endpoint.awaitingFirstByte--;
      const ttft = performance.now() - arrival;
      endpoint.stats.firstByte(ttft);
      this.metrics.observeTtft(endpoint.url, ttft / 1000);
    };
    return new Promise<void>((resolve, reject) => {
      let status = 0;
      const finish = (err: unknown) => {
        if (!firstByte) endpoint.awaitingFirstByte--;
        firstByte = true;
        endpoint.inFlight--;
        const ms = performance.now() - arrival;
        endpoint.stats.finished(ms);
        if (err) return reject(err);
        endpoint.succeeded();
        this.metrics.observeLatency(endpoint.url, model, status, ms / 1000);
        if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, model, engine: endpoint.url, status, ms: Math.round(ms), attempts: attempt });
        resolve();
      };
      pool.dispatch({
        method: 'POST', path, headers, body: payload,
        headersTimeout: this.options.requestTimeout * 1000, bodyTimeout: 0,
      }, {
        // A client that went away aborts the engine's request too.
        onConnect: (abortUpstream: (err?: Error) => void) => {
          if (cancel.cancelled) abortUpstream();
          else cancel.upstream = () => abortUpstream();
        },
        onHeaders: (statusCode: number, rawHeaders: Buffer[], resume: () => void) => {
          status = statusCode;
          // A flat name, value list as Node takes it; latin1 relays header bytes unchanged.
          const out: string[] = [];
          let sized = false;
          for (let i = 0; i < rawHeaders.length; i += 2) {
            const name = (rawHeaders[i] as Buffer).toString('latin1');
            const lower = name.toLowerCase();
            if (HOP_BY_HOP.has(lower) || lower === 'x-request-id') continue;
            if (lower === 'content-length') sized = true;
            out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
          }
          out.push('x-request-id', requestId, 'x-router-engine', endpoint.url, 'x-router-attempts', String(attempt));
          res.writeHead(statusCode, out);
          // Streams show their headers at once; a sized answer goes out with its body in one write.
          if (!sized) res.flushHeaders();
          markFirst();
          // Backpressure: pause the engine's stream while the client's socket is full.
          res.on('drain', resume);
          return true;
        },
        onData: (chunk: Buffer) => res.write(chunk),
        onComplete: () => {
          res.end();
          if (status >= 500) this.metrics.countError(endpoint.url, model, `http_${status}`);
          finish(null);
        },
        onError: (err: Error) => finish(err),
      } as Dispatcher.DispatchHandler);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const a = this.server.address();
        this.watch.start(this.options.engineStatsInterval, this.options.staticBackendHealthChecks);
        resolve(typeof a === 'object' && a ? a.port : this.options.port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish up to the bound, then closes everything. */
  close(timeoutMs = 10_000): Promise<void> {
    this.watch.stop();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined))).then(() => resolve());
      });
      this.server.closeIdleConnections();
    });
  }
}
