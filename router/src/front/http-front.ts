// The router's HTTP front: routes, authentication, limits and the body check,
// then the forwarder takes the request to an engine. Requests arrive by the
// fast path (plain POSTs) or by Node's HTTP server (everything else); both
// are served here the same way. The router's own endpoints (/health,
// /metrics, /version, /engines, /v1/models) are answered here too. What a
// client gets wrong is answered in the OpenAI error shape, malformed HTTP
// included (client-connections.ts).
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, maxHeaderSize, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Backends } from '../backends/backends.js';
import { DeadlineSweep } from '../deadlines.js';
import { answerError } from '../error-answer.js';
import { errors, RouterError } from '../errors.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { ClientResponse } from '../http1/client-response.js';
import { installFastPath, type FastPath } from '../http1/fast-path.js';
import type { Logger } from '../logger.js';
import type { RouterOptions } from '../options.js';
import { DISAGGREGATED_PATHS } from '../routing/disaggregated-prefill.js';
import { isDisaggregated } from '../routing/index.js';
import { ClientConnections } from './client-connections.js';
import { scanHeaders, type IncomingHeaders } from './incoming-headers.js';
import { isMultipart, parseForm, parseJsonBody, promptOf } from './request-body.js';
import { forwardedRoute, queryWithoutId, withoutRootPath } from './routes.js';

export const VERSION = '0.1.0';

const JSON_HEADERS = ['content-type', 'application/json'];
const KEEP_ALIVE_MS = 65_000;

/** Hands the request body over once it is all here (or the error that stopped it). */
type BodySource = (done: (err: unknown, body: Buffer | null) => void) => void;

/** Where a forwarded request goes: its route, the engine's path and query, the engine ?id= names. */
interface Target {
  path: string;
  enginePath: string;
  pinned: string | null;
  admin: boolean;
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

export class HttpFront {
  readonly server: Server;
  private readonly fastPath: FastPath;
  private readonly connections: ClientConnections;
  private readonly clientKey: Buffer | null;
  /** Requests the fast path is still reading, against --client-request-timeout. */
  private readonly clientRequests: DeadlineSweep;

  constructor(private readonly options: RouterOptions, private readonly backends: Backends, private readonly forwarder: Forwarder, private readonly log: Logger) {
    this.clientKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    const clientRequestMs = options.clientRequestTimeout * 1000;
    this.clientRequests = DeadlineSweep.within(clientRequestMs);
    const limit = options.maxBodySize;
    // Node checks its request timeout on an interval: often enough for the bound to hold within a quarter of it.
    this.server = createServer({ connectionsCheckingInterval: Math.max(10, Math.min(30_000, clientRequestMs / 4)) }, (req, res) => {
      this.connections.track(req.socket, res);
      this.serve(req.method ?? 'GET', req.url ?? '/', req.rawHeaders, res, (done) => readBody(req, limit, done));
    });
    this.server.keepAliveTimeout = KEEP_ALIVE_MS;
    this.server.requestTimeout = clientRequestMs;
    this.server.headersTimeout = clientRequestMs;
    this.server.maxConnections = options.maxConnections;
    this.connections = new ClientConnections(this.server, log, options);
    this.fastPath = installFastPath(this.server, {
      request: (r) => this.serve(r.method, r.url, r.rawHeaders, r.response, (done) => done(null, r.body)),
      timedOut: (socket) => this.connections.answerOnSocket(socket, errors.requestTimeout(options.clientRequestTimeout)),
    }, {
      maxBodySize: limit, maxHeaderBytes: maxHeaderSize, keepAliveMs: KEEP_ALIVE_MS,
      requestDeadlines: this.clientRequests, requestDeadline: () => performance.now() + clientRequestMs,
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.connections.clientError(err, socket));
  }

  private fail(path: string, res: ClientResponse, err: unknown, requestId: string): void {
    answerError(this.log, path, res, err, requestId);
  }

  private authorized(authorization: string | null): boolean {
    if (!this.clientKey) return true;
    const given = Buffer.from(authorization ?? '');
    return given.length === this.clientKey.length && timingSafeEqual(given, this.clientKey);
  }

  private serve(method: string, url: string, rawHeaders: string[], res: ClientResponse, body: BodySource): void {
    const headers = scanHeaders(rawHeaders, this.backends.policy.sessionHeader);
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
    const path = withoutRootPath(q < 0 ? url : url.slice(0, q), this.options.rootPath);
    const query = q < 0 ? '' : url.slice(q + 1);
    if (method === 'GET' && this.own(path, url, res, headers, requestId)) return;
    const route = forwardedRoute(path);
    if (!route) throw errors.notFound(`no route ${method} ${path}`);
    if (method !== route.method) throw new RouterError(405, 'method_not_allowed', `${path} accepts ${route.method}, not ${method}`);
    if (!this.authorized(headers.authorization)) throw errors.unauthorized();
    if (headers.contentLength > this.options.maxBodySize) throw errors.tooLarge(this.options.maxBodySize);
    const arrival = performance.now();
    const { id, rest } = queryWithoutId(query);
    const target: Target = { path, enginePath: `${path}${rest}`, pinned: id, admin: route.admin };
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

  /** The router's own GET endpoints; false when the path is none of them. */
  private own(path: string, url: string, res: ClientResponse, headers: IncomingHeaders, requestId: string): boolean {
    const { discovery, endpoints, policy } = this.backends;
    switch (path) {
      case '/health': {
        if (discovery.healthy()) this.answer(res, JSON_HEADERS, '{"status":"healthy"}');
        else {
          const reason = discovery.problem?.() ?? null;
          this.answer(res, JSON_HEADERS, JSON.stringify({ status: `service discovery (${discovery.name}) has lost sight of the engines`, ...(reason ? { reason } : {}) }), 503);
        }
        return true;
      }
      case '/metrics': {
        const registry = this.forwarder.metrics.registry;
        registry.metrics().then(
          (text) => this.answer(res, ['content-type', registry.contentType], text),
          (err: unknown) => this.fail(url, res, err, requestId),
        );
        return true;
      }
      case '/version':
        this.answer(res, JSON_HEADERS, JSON.stringify({ name: 'vllm-router', version: VERSION }));
        return true;
      case '/engines': {
        const described = discovery.describe?.();
        this.answer(res, JSON_HEADERS, JSON.stringify({ routing_logic: policy.logic, session_key: policy.sessionKey, engines: endpoints.all().map((e) => e.snapshot()), ...(described ? { discovery: described } : {}) }));
        return true;
      }
      case '/v1/models':
        if (!this.authorized(headers.authorization)) throw errors.unauthorized();
        this.answer(res, JSON_HEADERS, JSON.stringify({ object: 'list', data: this.backends.modelCards() }));
        return true;
      default:
        return false;
    }
  }

  /** Reads what routing needs from the body and hands the request to the forwarder; throws the client's mistakes. */
  private forward(res: ClientResponse, target: Target, raw: Buffer | null, headers: IncomingHeaders, requestId: string, arrival: number): void {
    this.forwarder.checkCapacity();
    const { path, enginePath, pinned } = target;
    const clientHeaders = headers.forward;
    if (target.admin) {
      if (pinned === null) throw errors.badRequest(`${path} needs the engine's id as ?id= (see /engines)`, 'id');
      const payload = raw && raw.length > 0 ? raw : null;
      const contentType = payload ? headers.contentType ?? 'application/json' : null;
      return this.forwarder.forwardAdmin(res, { path, enginePath, pinned, payload, contentType, clientHeaders, requestId, arrival });
    }
    if (raw === null) {
      const model = new URLSearchParams(enginePath.split('?')[1] ?? '').get('model');
      if (!model) throw errors.badRequest(`${path} needs the model as ?model=`, 'model');
      return this.forwarder.forwardModel(res, { enginePath, pinned, requested: model, payload: null, contentType: null, clientHeaders, requestId, arrival, prompt: '', sessionId: headers.session });
    }
    const policy = this.backends.policy;
    if (isMultipart(headers.contentType)) {
      const contentType = headers.contentType as string;
      parseForm(raw, contentType).then(async (form) => {
        if (form.model === null) throw errors.badRequest('the form has no model field', 'model');
        const model = policy.aliases[form.model] ?? form.model;
        const rewritten = model === form.model ? { payload: raw, contentType } : await form.withModel(model);
        this.forwarder.forwardModel(res, {
          enginePath, pinned, requested: form.model, payload: rewritten.payload, contentType: rewritten.contentType, clientHeaders, requestId, arrival, prompt: '', sessionId: headers.session,
        });
      }).catch((e: unknown) => this.fail(path, res, e, requestId));
      return;
    }
    const body = parseJsonBody(raw);
    if (typeof body.model !== 'string' || body.model === '') throw errors.badRequest('model must be a non-empty string', 'model');
    const requested = body.model;
    const model = policy.aliases[requested] ?? requested;
    // Headers arrive lower-cased; a body field keeps the case the user configured.
    const bodySession = body[policy.sessionKey];
    const sessionId = headers.session ?? (typeof bodySession === 'string' || typeof bodySession === 'number' ? String(bodySession) : null);
    const logic = policy.logic;
    if (isDisaggregated(logic) && DISAGGREGATED_PATHS.has(path) && pinned === null) {
      return this.forwarder.forwardSplit(res, { logic, body: { ...body, model }, requested, model, sessionId, enginePath, clientHeaders, requestId, arrival });
    }
    const payload = model === requested ? raw : Buffer.from(JSON.stringify({ ...body, model }));
    const prompt = logic === 'prefixaware' ? promptOf(body) : '';
    this.forwarder.forwardModel(res, { enginePath, pinned, requested, payload, contentType: 'application/json', clientHeaders, requestId, arrival, prompt, sessionId });
  }

  /** Starts the deadline of requests the fast path is reading. */
  startDeadlines(): void {
    this.clientRequests.start();
  }

  stopDeadlines(): void {
    this.clientRequests.stop();
  }

  /** From now on answers close their connections, and idle connections close. */
  drain(): void {
    this.connections.drain();
  }

  closeIdleConnections(): void {
    this.server.closeIdleConnections();
    this.fastPath.closeIdle();
  }

  closeAllConnections(): void {
    this.server.closeAllConnections();
    this.fastPath.closeAll();
  }
}
