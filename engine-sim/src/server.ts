// The HTTP face of the simulator: vLLM's OpenAI routes, /health, /tokenize,
// /metrics and the admin endpoint. Nothing a client sends may crash it.
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isAborted, SimEngine, type RunResult, type Tunables } from './engine.js';
import { ApiError, badRequest, errorBody, notFound } from './errors.js';
import { FAILURE_KINDS, type EngineSimOptions } from './options.js';
import { parseGenerationRequest, type GenerationRequest, type RequestKind } from './request.js';
import { tokenize } from './tokenizer.js';

/** A JSON answer with its length, as vLLM's server sends it (no chunked framing). */
function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new ApiError(413, `request body of ${declared} bytes exceeds the limit of ${limit}`, 'RequestEntityTooLarge'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop collecting but let the rest drain, so that the client reads the 413.
        req.removeAllListeners('data');
        req.resume();
        reject(new ApiError(413, `request body exceeds the limit of ${limit} bytes`, 'RequestEntityTooLarge'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The answer to what Node's parser refused, by its error code: as Node's own (431, 408, 400), in vLLM's error shape. */
export function clientErrorAnswer(code: string | undefined, reason: string): string {
  const e = code === 'HPE_HEADER_OVERFLOW' ? new ApiError(431, 'request header fields too large', 'RequestHeaderFieldsTooLarge')
    : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new ApiError(408, 'the request was not complete in time', 'RequestTimeout')
      : badRequest(`malformed HTTP request: ${reason}`);
  const body = errorBody(e);
  return `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

const TUNABLE_NUMBERS: (keyof Tunables)[] = ['prefillOverhead', 'prefillTimePerToken', 'offloadTimePerToken', 'interTokenLatency', 'loadFactor', 'jitter', 'timeScale', 'failureRate'];

function applyTunables(t: Tunables, patch: unknown): void {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('the body must be a JSON object of settings');
  const next = { ...t };
  for (const [key, value] of Object.entries(patch)) {
    if ((TUNABLE_NUMBERS as string[]).includes(key)) {
      const max = key === 'failureRate' || key === 'jitter' ? 1 : Number.MAX_SAFE_INTEGER;
      const min = key === 'loadFactor' ? 1 : 0;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw badRequest(`${key} must be a number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}`, key);
      (next as unknown as Record<string, number>)[key] = value;
    } else if (key === 'failureKinds') {
      if (!Array.isArray(value) || value.length === 0 || !value.every((k) => (FAILURE_KINDS as readonly unknown[]).includes(k))) {
        throw badRequest(`failureKinds must be a non-empty array of ${FAILURE_KINDS.join(', ')}`, key);
      }
      next.failureKinds = value as Tunables['failureKinds'];
    } else {
      throw badRequest(`unknown setting "${key}"; settable: ${[...TUNABLE_NUMBERS, 'failureKinds'].join(', ')}`, key);
    }
  }
  Object.assign(t, next);
}

export class SimServer {
  readonly engine: SimEngine;
  readonly server: Server;
  private readonly models: Set<string>;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly apiKey: Buffer | null;
  /** Answers in progress by connection: a parse error on a busy one must not write into an answer. */
  private readonly busy = new WeakMap<Socket, number>();
  private readonly closeWhenIdle = new WeakSet<Socket>();
  instanceId: string;

  constructor(readonly options: EngineSimOptions) {
    this.engine = new SimEngine(options);
    this.models = new Set(options.servedModelNames);
    this.apiKey = options.apiKey ? Buffer.from(`Bearer ${options.apiKey}`) : null;
    this.instanceId = options.instanceId;
    this.server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      const socket = req.socket;
      this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const left = (this.busy.get(socket) ?? 1) - 1;
        this.busy.set(socket, left);
        if (left === 0 && this.closeWhenIdle.has(socket)) socket.end();
      });
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (this.closeWhenIdle.has(socket)) return;
      this.closeWhenIdle.add(socket);
      // An answer in progress finishes whole, then the connection closes; only an idle connection gets an error answer.
      if ((this.busy.get(socket) ?? 0) > 0) return;
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(clientErrorAnswer(err.code, (err as { reason?: string }).reason ?? err.message));
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (isAborted(err)) return;
    const api = err instanceof ApiError ? err : new ApiError(500, `internal error: ${(err as Error).message}`, 'InternalServerError');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, api.status, errorBody(api));
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.apiKey) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === this.apiKey.length && timingSafeEqual(given, this.apiKey);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('x-engine-instance-id', this.instanceId);
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if ((path === '/health' || path === '/metrics') && method !== 'GET') throw new ApiError(405, `${path} accepts GET, not ${method}`, 'MethodNotAllowed');
    if (path === '/health') {
      res.writeHead(200).end();
      return;
    }
    if (path === '/metrics') {
      const text = await this.engine.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.engine.metrics.registry.contentType }).end(text);
      return;
    }
    const routes: Record<string, string> = {
      '/v1/chat/completions': 'POST', '/v1/completions': 'POST', '/v1/models': 'GET', '/tokenize': 'POST', '/admin/config': 'GET|POST',
      // As vLLM: the routes exist only with VLLM_ALLOW_RUNTIME_LORA_UPDATING.
      ...(this.options.loraRuntimeUpdating ? { '/v1/load_lora_adapter': 'POST', '/v1/unload_lora_adapter': 'POST' } : {}),
    };
    const allowed = routes[path];
    if (!allowed) throw notFound(`no route ${method} ${path}`);
    if (!allowed.split('|').includes(method)) throw new ApiError(405, `${path} accepts ${allowed.replace('|', ' and ')}, not ${method}`, 'MethodNotAllowed');
    if ((path.startsWith('/v1/') || path === '/admin/config') && !this.authorized(req)) throw new ApiError(401, 'Unauthorized: a valid Authorization: Bearer key is required', 'AuthenticationError');
    if (path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [...[...this.models].map((id) => ({ id, object: 'model', created: this.created, owned_by: 'vllm', root: this.options.model, parent: null, max_model_len: this.options.maxModelLen, permission: [] })),
          ...this.engine.lora.cards(this.created)],
      });
      return;
    }
    if (path === '/admin/config') {
      if (method === 'POST') applyTunables(this.engine.tunables, parseJson(await readBody(req, this.options.maxBodySize)));
      sendJson(res, 200, this.engine.tunables);
      return;
    }
    const body = parseJson(await readBody(req, this.options.maxBodySize));
    if (path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter') {
      // vLLM answers success as bare text, with no content type.
      const text = path === '/v1/load_lora_adapter' ? this.engine.lora.load(body) : this.engine.lora.unload(body);
      res.writeHead(200, { 'content-length': Buffer.byteLength(text) }).end(text);
      return;
    }
    if (path === '/tokenize') {
      const b = body as { prompt?: unknown; messages?: unknown };
      const prompt = b && typeof b === 'object' && 'messages' in b
        ? parseGenerationRequest('chat', { model: 'x', messages: b.messages }).prompt
        : typeof b?.prompt === 'string' ? b.prompt : null;
      if (prompt === null) throw badRequest('tokenize needs a string prompt or a messages array', 'prompt');
      const tokens = tokenize(prompt);
      sendJson(res, 200, { count: tokens.length, max_model_len: this.options.maxModelLen, tokens });
      return;
    }
    const kind: RequestKind = path === '/v1/chat/completions' ? 'chat' : 'completion';
    const request = parseGenerationRequest(kind, body);
    const adapter = this.models.has(request.model) ? null : this.engine.lora.has(request.model) ? request.model : undefined;
    if (adapter === undefined) throw notFound(`The model \`${request.model}\` does not exist.`);
    await this.generate(req, res, request, adapter);
  }

  private async generate(req: IncomingMessage, res: ServerResponse, request: GenerationRequest, adapter: string | null): Promise<void> {
    const failure = this.engine.drawFailure();
    if (failure === '429' || failure === '500' || failure === '503') {
      const status = Number(failure);
      throw new ApiError(status, `injected failure (${status})`, status === 429 ? 'TooManyRequestsError' : status === 503 ? 'ServiceUnavailableError' : 'InternalServerError');
    }
    if (failure === 'reset' && !request.stream) {
      req.socket.destroy();
      return;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const id = `${request.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, object: request.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: request.model };
    if (!request.stream) {
      const parts: string[] = [];
      const result = await this.engine.run(request, abort.signal, () => {}, (t) => parts.push(t), adapter);
      sendJson(res, 200, this.fullResponse(request, id, created, parts.join(''), result));
      return;
    }
    let sent = 0;
    const pending: string[] = [];
    // The connection drops with the chunked body unfinished, once what was produced has gone out.
    const cut = (unsent: string) => (unsent ? res.write(unsent, () => res.destroy()) : res.destroy());
    let usageSoFar = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    const chunk = (choice: Record<string, unknown>, usage?: unknown) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, ...choice, logprobs: null }], ...(usage ? { usage } : {}) })}\n\n`;
    // As vLLM behind uvicorn: the headers go out at once, a chat's role chunk with the first output.
    let role = request.kind === 'chat' ? chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }) : '';
    const result = await this.engine.run(request, abort.signal, () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (this.engine.tunables.timeScale > 0) res.flushHeaders();
      usageSoFar.prompt_tokens = this.engine.countTokens(request.prompt);
    }, (token) => {
      sent++;
      // An injected reset cuts the stream after its first token, so the client has seen it start.
      if (failure === 'reset' && sent === 2) {
        cut(pending.splice(0).join(''));
        abort.abort();
        return;
      }
      usageSoFar = { ...usageSoFar, completion_tokens: sent, total_tokens: usageSoFar.prompt_tokens + sent };
      const continuous = request.continuousUsage ? usageSoFar : undefined;
      const line = role + (request.kind === 'chat' ? chunk({ delta: { content: token }, finish_reason: null }, continuous) : chunk({ text: token, finish_reason: null, stop_reason: null }, continuous));
      role = '';
      // At time scale 0 every token is ready at once: one write instead of many.
      if (this.engine.tunables.timeScale === 0) pending.push(line);
      else res.write(line);
    }, adapter);
    if (failure === 'reset') {
      // Too short to be cut after its first token: cut before its end.
      cut(pending.join(''));
      return;
    }
    if (pending.length > 0) res.write(pending.join(''));
    const tail = request.kind === 'chat'
      ? chunk({ delta: {}, finish_reason: result.finishReason, stop_reason: null }, request.continuousUsage ? result.usage : undefined)
      : chunk({ text: '', finish_reason: result.finishReason, stop_reason: null }, request.continuousUsage ? result.usage : undefined);
    const usage = request.includeUsage ? `data: ${JSON.stringify({ ...base, choices: [], usage: result.usage })}\n\n` : '';
    res.end(`${role}${tail}${usage}data: [DONE]\n\n`);
  }

  private fullResponse(request: GenerationRequest, id: string, created: number, text: string, result: RunResult): Record<string, unknown> {
    const choice = request.kind === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: result.finishReason, stop_reason: null }
      : { index: 0, text, logprobs: null, finish_reason: result.finishReason, stop_reason: null, prompt_logprobs: null };
    return {
      id, object: request.kind === 'chat' ? 'chat.completion' : 'text_completion', created, model: request.model, choices: [choice], usage: result.usage, prompt_logprobs: null,
      ...(result.kvTransferParams ? { kv_transfer_params: result.kvTransferParams } : {}),
    };
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const address = this.server.address();
        const port = typeof address === 'object' && address ? address.port : this.options.port;
        if (this.instanceId === '') this.instanceId = `sim-${port}`;
        this.engine.instanceId = this.instanceId;
        (this.engine.pd?.listen(this.options.host) ?? Promise.resolve()).then(() => resolve(port), reject);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish for up to the timeout, then cuts the rest. */
  close(timeoutMs = this.options.shutdownTimeout): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        (this.engine.pd?.close() ?? Promise.resolve()).then(() => resolve());
      });
      this.server.closeIdleConnections();
    });
  }
}
