// The router's front: routes, authentication, limits and the body check,
// then a ProxiedRequest takes the request to an engine. Requests arrive by
// the fast path (plain POSTs) or by Node's HTTP server (everything else);
// both are served here the same way. Also the endpoint set, dynamic config
// and lifecycle. Nothing a client sends may crash it.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Pool } from 'undici';
import type { DynamicConfig } from './dynamic-config.js';
import { EndpointSet, type BackendSpec, type Endpoint } from './endpoints.js';
import { DeadlineSweep } from './deadlines.js';
import { EngineWatch } from './engine-watch.js';
import { errorBody, errors, RouterError } from './errors.js';
import type { ClientResponse } from './http1/client-response.js';
import { installFastPath, type FastPath } from './http1/fast-path.js';
import { scanHeaders, type IncomingHeaders } from './incoming-headers.js';
import { Logger } from './logger.js';
import { RouterMetrics } from './metrics.js';
import type { RouterOptions } from './options.js';
import { ProxiedRequest, type ForwardContext } from './proxied-request.js';
import { createAlgorithm, type RoutedRequest, type RoutingAlgorithm, type RoutingLogic } from './routing/index.js';

export const VERSION = '0.1.0';

const PROXIED = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/tokenize', '/detokenize']);
const JSON_HEADERS = ['content-type', 'application/json'];
const KEEP_ALIVE_MS = 65_000;

/** Hands the request body over once it is all here (or the error that stopped it). */
type BodySource = (done: (err: unknown, body: Buffer | null) => void) => void;

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
  private readonly engineAuthHeader: string[];
  private readonly fastPath: FastPath;
  private inFlight = 0;
  readonly failoverAttempts: number;
  readonly headersTimeoutMs: number;
  readonly awaitingHeaders: DeadlineSweep;

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
    this.awaitingHeaders = new DeadlineSweep(Math.min(1000, this.headersTimeoutMs / 4));
    this.clientKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    const engineAuth: Record<string, string> = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
    this.engineAuthHeader = Object.entries(engineAuth).flat();
    this.setBackends(options.staticBackends.map((url, i) => ({ url, models: options.staticModels[i] ? [options.staticModels[i] as string] : [] })));
    this.watch = new EngineWatch(this.endpoints, engineAuth, (m) => this.log.log('info', m));
    const limit = options.maxBodySize;
    this.server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => {
      this.serve(req.method ?? 'GET', req.url ?? '/', req.rawHeaders, res, (done) => readBody(req, limit, done));
    });
    this.fastPath = installFastPath(this.server, (r) => this.serve(r.method, r.url, r.rawHeaders, r.response, (done) => done(null, r.body)), {
      maxBodySize: limit, keepAliveMs: KEEP_ALIVE_MS, headersTimeoutMs: this.server.headersTimeout,
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

  private serve(method: string, url: string, rawHeaders: string[], res: ClientResponse, body: BodySource): void {
    const headers = scanHeaders(rawHeaders, this.sessionHeader);
    const requestId = headers.requestId || randomUUID();
    try {
      this.route(method, url, res, headers, requestId, body);
    } catch (err) {
      this.fail(url, res, err, requestId);
    }
  }

  private answer(res: ClientResponse, headers: string[], text: string): void {
    res.writeHead(200, headers);
    res.end(text);
  }

  private route(method: string, url: string, res: ClientResponse, headers: IncomingHeaders, requestId: string, body: BodySource): void {
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (method === 'GET') {
      if (path === '/health') return this.answer(res, JSON_HEADERS, '{"status":"healthy"}');
      if (path === '/metrics') {
        this.metrics.registry.metrics().then(
          (text) => this.answer(res, ['content-type', this.metrics.registry.contentType], text),
          (err: unknown) => this.fail(url, res, err, requestId),
        );
        return;
      }
      if (path === '/version') return this.answer(res, JSON_HEADERS, JSON.stringify({ name: 'vllm-router', version: VERSION }));
      if (path === '/engines') {
        return this.answer(res, JSON_HEADERS, JSON.stringify({ routing_logic: this.routingLogic, session_key: this.sessionKey, engines: this.endpoints.all().map((e) => e.snapshot()) }));
      }
      if (path === '/v1/models') {
        if (!this.authorized(headers.authorization)) throw errors.unauthorized();
        const created = Math.floor(Date.now() / 1000);
        const ids = [...new Set([...this.endpoints.models(), ...Object.keys(this.aliases)])].sort();
        return this.answer(res, JSON_HEADERS, JSON.stringify({ object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'vllm' })) }));
      }
    }
    if (!PROXIED.has(path)) throw errors.notFound(`no route ${method} ${path}`);
    if (method !== 'POST') throw new RouterError(405, 'method_not_allowed', `${path} accepts POST, not ${method}`);
    if (!this.authorized(headers.authorization)) throw errors.unauthorized();
    if (this.inFlight >= this.options.maxConcurrency) throw errors.tooMany(this.options.maxConcurrency);
    if (headers.contentLength > this.options.maxBodySize) throw errors.tooLarge(this.options.maxBodySize);
    const arrival = performance.now();
    this.inFlight++;
    body((err, raw) => {
      try {
        if (err) throw err;
        this.proxy(res, path, raw as Buffer, headers, requestId, arrival);
      } catch (e) {
        this.fail(url, res, e, requestId);
        this.done();
      }
    });
  }

  /** Checks the body and hands the request to a ProxiedRequest; throws the client's mistakes. */
  private proxy(res: ClientResponse, path: string, raw: Buffer, headers: IncomingHeaders, requestId: string, arrival: number): void {
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
    new ProxiedRequest(this as ForwardContext, res, {
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
        this.awaitingHeaders.start();
        resolve(typeof a === 'object' && a ? a.port : this.options.port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish up to the bound, then closes everything. */
  close(timeoutMs = 10_000): Promise<void> {
    this.watch.stop();
    this.awaitingHeaders.stop();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.closeAllConnections();
        this.fastPath.closeAll();
      }, timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined))).then(() => resolve());
      });
      this.server.closeIdleConnections();
      this.fastPath.closeIdle();
    });
  }
}
