// The benchmark's streaming client: undici's Pool with one handler object per
// request, timing every content chunk as it arrives (performance.now(), a
// monotonic clock) and reading token counts from the server's usage chunk.
// Lean on purpose: it must never be what limits a benchmark.
import { StringDecoder } from 'node:string_decoder';
import { Pool, type Dispatcher } from 'undici';
import type { ErrorKind } from '../vocabulary/request-sample.js';

export interface StreamRequest {
  /** /v1/chat/completions or /v1/completions; the body asks for stream and include_usage. */
  path: string;
  body: string;
  /** Extra headers, flat name, value list (the session key). */
  headers?: string[];
  /** Keep the answer's text (multi-round QA feeds it back as history). */
  collectText?: boolean;
}

export interface StreamResult {
  status: number;
  /** performance.now() when it was sent. */
  sentAt: number;
  ttftMs: number | null;
  itlMs: number[];
  e2elMs: number;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  errorKind: ErrorKind | null;
  error: string | null;
  engine: string | null;
  text: string;
}

export interface StreamClientOptions {
  apiKey?: string | undefined;
  /** No response headers within this long: the request fails as a timeout. */
  headersTimeoutMs: number;
  /** No next chunk within this long: the request fails as a timeout. */
  bodyTimeoutMs: number;
}

/** Why an in-flight request was aborted by the benchmark itself. */
class Cancelled extends Error {
  override name = 'Cancelled';
}

/** Longest error body kept for the message of a failed request. */
const ERROR_BODY_LIMIT = 4096;

class TimedStream implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private engine: string | null = null;
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private firstAt = 0;
  private lastAt = 0;
  private readonly itl: number[] = [];
  private text = '';
  private done = false;
  private streamError: string | null = null;
  private promptTokens: number | null = null;
  private completionTokens: number | null = null;
  private cachedTokens: number | null = null;
  cancelled = false;

  constructor(
    private readonly sentAt: number,
    private readonly collectText: boolean,
    private readonly finish: (handler: TimedStream, result: StreamResult) => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
    this.controller?.abort(new Cancelled('still running when the benchmark ended'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelled) controller.abort(new Cancelled('still running when the benchmark ended'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = status;
    // The engine's own word first; the router's as a fallback (real vLLM sends no instance id).
    const engine = headers['x-engine-instance-id'] ?? headers['x-router-engine'];
    this.engine = typeof engine === 'string' ? engine : null;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.status !== 200) {
      if (this.rest.length < ERROR_BODY_LIMIT) this.rest += this.decoder.write(chunk).slice(0, ERROR_BODY_LIMIT);
      return;
    }
    const now = performance.now();
    let text = this.rest + this.decoder.write(chunk);
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.line(text.slice(0, nl), now);
      text = text.slice(nl + 1);
    }
    this.rest = text;
  }

  private line(line: string, now: number): void {
    if (!line.startsWith('data:')) return;
    const payload = line.slice(line.charCodeAt(5) === 32 ? 6 : 5).trimEnd();
    if (payload === '[DONE]') {
      this.done = true;
      return;
    }
    let event: SseEvent;
    try {
      event = JSON.parse(payload) as SseEvent;
    } catch {
      this.streamError ??= `malformed stream event: ${payload.slice(0, 120)}`;
      return;
    }
    if (event.error) this.streamError ??= event.error.message ?? JSON.stringify(event.error);
    const usage = event.usage;
    if (usage) {
      this.promptTokens = usage.prompt_tokens ?? null;
      this.completionTokens = usage.completion_tokens ?? null;
      this.cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
    }
    const choice = event.choices?.[0];
    if (!choice) return;
    const content = choice.delta?.content ?? choice.text;
    if (typeof content !== 'string' || content.length === 0) return;
    if (this.firstAt === 0) this.firstAt = now;
    else this.itl.push(now - this.lastAt);
    this.lastAt = now;
    if (this.collectText) this.text += content;
  }

  onResponseEnd(): void {
    const end = performance.now();
    if (this.status !== 200) {
      const body = this.rest + this.decoder.end();
      let message = body.slice(0, 300);
      try {
        message = (JSON.parse(body) as SseEvent).error?.message ?? message;
      } catch {
        // Not JSON: the raw text is the message.
      }
      return this.end(end, `http_${this.status}`, `HTTP ${this.status}: ${message}`);
    }
    if (this.rest.length > 0) this.line(this.rest, end);
    if (this.streamError) return this.end(end, 'stream', this.streamError);
    if (!this.done) return this.end(end, 'stream', 'the stream ended without data: [DONE]');
    if (this.firstAt === 0) return this.end(end, 'empty', 'the stream carried no content token');
    this.end(end, null, null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    const code = (err as { code?: string }).code ?? '';
    const kind: ErrorKind = err instanceof Cancelled || this.cancelled ? 'cancelled'
      : code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout'
        : code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND' ? 'connect'
          : 'reset';
    this.end(performance.now(), kind, `${code ? `${code}: ` : ''}${err.message}`);
  }

  private end(at: number, kind: ErrorKind | null, error: string | null): void {
    this.finish(this, {
      status: this.status, sentAt: this.sentAt,
      ttftMs: this.firstAt === 0 ? null : this.firstAt - this.sentAt,
      itlMs: this.itl, e2elMs: at - this.sentAt,
      promptTokens: this.promptTokens, completionTokens: this.completionTokens, cachedTokens: this.cachedTokens,
      errorKind: kind, error, engine: this.engine, text: this.text,
    });
  }
}

interface SseEvent {
  choices?: { delta?: { content?: string | null }; text?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: { message?: string };
}

export class StreamClient {
  private readonly pool: Pool;
  private readonly inFlight = new Set<TimedStream>();
  private readonly auth: string[];

  constructor(baseUrl: string, private readonly options: StreamClientOptions) {
    // One connection per concurrent request, kept alive between them.
    this.pool = new Pool(baseUrl, { pipelining: 1, keepAliveTimeout: 30_000 });
    this.auth = options.apiKey ? ['authorization', `Bearer ${options.apiKey}`] : [];
  }

  get pending(): number {
    return this.inFlight.size;
  }

  send(request: StreamRequest): Promise<StreamResult> {
    return new Promise((resolve) => {
      const handler = new TimedStream(performance.now(), request.collectText ?? false, (h, result) => {
        this.inFlight.delete(h);
        resolve(result);
      });
      this.inFlight.add(handler);
      this.pool.dispatch({
        method: 'POST', path: request.path, body: request.body,
        headers: ['content-type', 'application/json', 'accept', 'text/event-stream', ...this.auth, ...(request.headers ?? [])],
        headersTimeout: this.options.headersTimeoutMs, bodyTimeout: this.options.bodyTimeoutMs,
      }, handler);
    });
  }

  /** Aborts every request still running; each ends as 'cancelled'. */
  cancelAll(): void {
    for (const h of this.inFlight) h.cancel();
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
