// The suites' HTTP client: undici with its own connection pool, every
// request bounded in time, every request counted for the live progress.
// Streams are read event by event so that how a stream ended is known: its
// [DONE], an error event, a closed connection, or no end within the bound.
import { Agent, request } from 'undici';

export interface HttpResult {
  /** null when no response arrived (connection error or timeout). */
  status: number | null;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  json: unknown;
  ms: number;
  error?: string;
  timedOut?: boolean;
}

export type StreamEnd = 'done' | 'http_error' | 'error_event' | 'closed' | 'timeout';

export interface StreamResult {
  status: number | null;
  headers: Record<string, string>;
  end: StreamEnd;
  /** Data events before [DONE]. */
  events: unknown[];
  /** ms to the first event that carries text. */
  ttftMs: number | null;
  ms: number;
  error?: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once the response headers are in (streams: when the engine admitted the request). */
  onHeaders?: (headers: Record<string, string>) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function flat(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export class SuiteHttp {
  // Enough sockets for an overload burst; idle ones close soon after a case.
  private readonly agent = new Agent({ connections: 2048, keepAliveTimeout: 2_000, headersTimeout: 0, bodyTimeout: 0 });
  sent = 0;

  constructor(private readonly onRequest: () => void = () => {}) {}

  private signalFor(opts: RequestOptions): { signal: AbortSignal; timeout: AbortSignal } {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return { signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout, timeout };
  }

  /** GETs (models, health, metrics) are not counted as requests sent. */
  async get(url: string, opts: RequestOptions = {}): Promise<HttpResult> {
    return this.send('GET', url, undefined, opts);
  }

  /** POST a JSON body; a string body is sent as it is (for malformed-JSON cases). */
  async post(url: string, body: unknown, opts: RequestOptions = {}): Promise<HttpResult> {
    return this.send('POST', url, typeof body === 'string' ? body : JSON.stringify(body), opts);
  }

  private async send(method: 'GET' | 'POST', url: string, body: string | undefined, opts: RequestOptions): Promise<HttpResult> {
    if (method === 'POST') {
      this.sent++;
      this.onRequest();
    }
    const { signal, timeout } = this.signalFor(opts);
    const start = performance.now();
    try {
      const res = await request(url, {
        method, body, signal, dispatcher: this.agent,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      });
      const headers = flat(res.headers);
      opts.onHeaders?.(headers);
      const text = await res.body.text();
      return { status: res.statusCode, headers, text, json: parse(text), ms: performance.now() - start };
    } catch (err) {
      return { status: null, headers: {}, text: '', json: null, ms: performance.now() - start, error: describe(err), timedOut: timeout.aborted };
    }
  }

  /** POST with stream: true and read the SSE events until [DONE], an error, a close or the time bound. */
  async stream(url: string, body: Record<string, unknown>, opts: RequestOptions = {}): Promise<StreamResult> {
    this.sent++;
    this.onRequest();
    const { signal, timeout } = this.signalFor(opts);
    const start = performance.now();
    const result: StreamResult = { status: null, headers: {}, end: 'closed', events: [], ttftMs: null, ms: 0 };
    try {
      const res = await request(url, {
        method: 'POST', signal, dispatcher: this.agent,
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify({ ...body, stream: true }),
      });
      result.status = res.statusCode;
      result.headers = flat(res.headers);
      opts.onHeaders?.(result.headers);
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        result.end = 'http_error';
        result.error = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
        return result;
      }
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut).trim();
          buffer = buffer.slice(cut + 2);
          if (event === '') continue;
          const data = event.startsWith('data:') ? event.slice(5).trim() : null;
          if (data === '[DONE]') {
            result.end = 'done';
            return result;
          }
          const parsed = data === null ? null : parse(data);
          if (parsed === null || (parsed as { error?: unknown }).error !== undefined) {
            result.end = 'error_event';
            result.error = `stream error: ${event.slice(0, 200)}`;
            return result;
          }
          if (result.ttftMs === null && carriesText(parsed)) result.ttftMs = performance.now() - start;
          result.events.push(parsed);
        }
      }
      result.end = 'closed';
      result.error = 'the stream closed without [DONE]';
      return result;
    } catch (err) {
      result.end = timeout.aborted ? 'timeout' : 'closed';
      result.error = describe(err);
      return result;
    } finally {
      result.ms = performance.now() - start;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function carriesText(event: unknown): boolean {
  const choice = (event as { choices?: { text?: string; delta?: { content?: string } }[] }).choices?.[0];
  return Boolean(choice?.text || choice?.delta?.content);
}
