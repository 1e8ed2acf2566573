// The router's front: routes, authentication, limits and the body check,
// then a ProxiedRequest takes the request to an engine. Also the endpoint
// set, dynamic config and lifecycle. Nothing a client sends may crash it.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { DynamicConfig } from './dynamic-config.js';
import { EndpointSet, type BackendSpec, type Endpoint } from './endpoints.js';
import { EngineWatch } from './engine-watch.js';
import { errorBody, errors, RouterError } from './errors.js';
import { scanHeaders, type IncomingHeaders } from './incoming-headers.js';
import { Logger } from './logger.js';
import { RouterMetrics } from './metrics.js';
import type { RouterOptions } from './options.js';
import { ProxiedRequest, type ForwardContext } from './proxied-request.js';
import { createAlgorithm, type RoutedRequest, type RoutingAlgorithm, type RoutingLogic } from './routing/index.js';

export const VERSION = '0.1.0';

const PROXIED = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/tokenize', '/detokenize']);
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

export class RouterServer {
  readonly server: Server;
  readonly endpoints: EndpointSet;
  readonly metrics: RouterMetrics;
  readonly log: Logger;
  private algorithm: RoutingAlgorithm;
  private routingLogic: RoutingLogic;
  private prefixMinMatchLength: number;
  private sessionKey: string;
  /** The session key as a header name, lower-cased once rather than per request. */
  private sessionHeader: string;
  private aliases: Record<string, string>;
  private readonly pools = new Map<string, Pool>();
  private readonly watch: EngineWatch;
  private readonly clientKey: Buffer | null;
  private readonly engineAuth: Record<string, string>;
  private readonly engineAuthHeader: string[];
  private inFlight = 0;
  readonly failoverAttempts: number;
  readonly headersTimeoutMs: number;

  constructor(readonly options: RouterOptions) {
    this.log = new Logger(options.logFormat, options.logLevel);
    this.endpoints = new EndpointSet(options.requestStatsWindow);
    this.metrics = new RouterMetrics(this.endpoints);
    this.routingLogic = options.routingLogic;
    this.prefixMinMatchLength = options.prefixMinMatchLength;
    this.algorithm = createAlgorithm(options.routingLogic, options.prefixMinMatchLength);
    this.sessionKey = options.sessionKey;
    this.sessionHeader = options.sessionKey.toLowerCase();
    this.aliases = options.staticAliases;
    this.failoverAttempts = options.maxInstanceFailoverRerouteAttempts;
    this.headersTimeoutMs = options.requestTimeout * 1000;
    this.clientKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    this.engineAuth = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
    this.engineAuthHeader = Object.entries(this.engineAuth).flat();
    this.setBackends(options.staticBackends.map((url, i) => ({ url, models: options.staticModels[i] ? [options.staticModels[i] as string] : [] })));
    this.watch = new EngineWatch(this.endpoints, this.engineAuth, (m) => this.log.log('info', m));
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.onRequest(req, res));
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
      this.sessionHeader = c.sessionKey.toLowerCase();
      changes.push(`session key ${c.sessionKey}`);
    }
    if (c.aliases) this.aliases = c.aliases;
    if (changes.length > 0) this.log.log('info', `dynamic config applied: ${changes.join('; ')}`);
  }

  /** Answers the router's own errors in the OpenAI shape, with the request id, and logs them as requests. */
  fail(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string): void {
    const e = err instanceof RouterError ? err : new RouterError(500, 'internal_error', `router error: ${(err as Error).message}`);
    if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, path: req.url ?? '', status: e.status, error: e.code });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(e.status, { ...JSON_HEADERS, 'x-request-id': requestId, ...e.headers }).end(errorBody(e));
  }

  pool(url: string): Pool {
    return this.pools.get(url) as Pool;
  }

  choose(candidates: Endpoint[], request: RoutedRequest): Endpoint {
    return this.algorithm.choose(candidates, request) as Endpoint;
  }

  done(): void {
    this.inFlight--;
  }

  private authorized(authorization: string | null): boolean {
    if (!this.clientKey) return true;
    const given = Buffer.from(authorization ?? '');
    return given.length === this.clientKey.length && timingSafeEqual(given, this.clientKey);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const headers = scanHeaders(req.rawHeaders, this.sessionHeader);
    const requestId = headers.requestId || randomUUID();
    try {
      this.route(req, res, headers, requestId);
    } catch (err) {
      this.fail(req, res, err, requestId);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, headers: IncomingHeaders, requestId: string): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/health') return void res.writeHead(200, JSON_HEADERS).end('{"status":"healthy"}');
      if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          (err: unknown) => this.fail(req, res, err, requestId),
        );
        return;
      }
      if (path === '/version') return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ name: 'vllm-router', version: VERSION }));
      if (path === '/engines') {
        return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ routing_logic: this.routingLogic, session_key: this.sessionKey, engines: this.endpoints.all().map((e) => e.snapshot()) }));
      }
      if (path === '/v1/models') {
        if (!this.authorized(headers.authorization)) throw errors.unauthorized();
        const created = Math.floor(Date.now() / 1000);
        const ids = [...new Set([...this.endpoints.models(), ...Object.keys(this.aliases)])].sort();
        return void res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'vllm' })) }));
      }
    }
    if (!PROXIED.has(path)) throw errors.notFound(`no route ${method} ${path}`);
    if (method !== 'POST') throw new RouterError(405, 'method_not_allowed', `${path} accepts POST, not ${method}`);
    if (!this.authorized(headers.authorization)) throw errors.unauthorized();
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
    if (headers.contentLength > this.options.maxBodySize) throw errors.tooLarge(this.options.maxBodySize);
    const arrival = performance.now();
    this.inFlight++;
    readBody(req, this.options.maxBodySize, (err, raw) => {
      try {
        if (err) throw err;
        this.proxy(req, res, path, raw as Buffer, headers, requestId, arrival);
      } catch (e) {
        this.fail(req, res, e, requestId);
        this.done();
      }
    });
  }

  /** Checks the body and hands the request to a ProxiedRequest; throws the client's mistakes. */
  private proxy(req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer, headers: IncomingHeaders, requestId: string, arrival: number): void {
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
    const bodySession = body[this.sessionKey];
    const sessionId = headers.session ?? (typeof bodySession === 'string' || typeof bodySession === 'number' ? String(bodySession) : null);
    const routed = { model, sessionId, prompt: this.routingLogic === 'prefixaware' ? promptOf(body) : '' };
    new ProxiedRequest(this as ForwardContext, req, res, {
      path, requestId, requested, routed, arrival,
      payload: model === requested ? raw : Buffer.from(JSON.stringify({ ...body, model })),
      headers: ['content-type', 'application/json', 'x-request-id', requestId, ...this.engineAuthHeader, ...headers.forward],
    }).start();
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
