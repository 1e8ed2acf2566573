// client-node's informer (ListWatch: list, then watch from the list's
// resourceVersion, list again after 410 Gone), made to keep going: it stops
// at the first error, so this restarts it with a doubling, jittered back-off
// (from the last resourceVersion, so nothing is listed again unless the API
// says that version is gone). Every request is bounded: a list or a watch
// that gets no answer within the request timeout fails, and a watch that has
// not ended by its own timeoutSeconds (plus a grace) is presumed dead and cut.
// It tracks whether discovery works: since when it has been failing, and why.
import {
  ListWatch, Observable, Watch,
  type ConfigurationOptions, type KubeConfig, type KubernetesListObject, type KubernetesObject, type RequestContext, type ResponseContext,
} from '@kubernetes/client-node';
import type { LogFn } from './k8s-engines.js';

export interface InformerTarget<T extends KubernetesObject> {
  /** What is watched, for the logs: "pods in namespace vllm with selector a=b". */
  what: string;
  /** The watch path: /api/v1/namespaces/NS/pods. */
  path: string;
  labelSelector: string;
  list(options: ConfigurationOptions): Promise<KubernetesListObject<T>>;
}

export interface InformerHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface InformerSettings {
  /** timeoutSeconds of each watch; 0 = random in [300, 600) per watch. */
  watchTimeoutSeconds: number;
  /** A list, or a watch until its response headers, must answer within this. */
  requestTimeoutMs: number;
  /** A watch still open this long after its timeoutSeconds is cut as dead. */
  watchGraceMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Failing continuously for this long makes discovery unhealthy. */
  unhealthyAfterMs: number;
  now(): number;
  random(): number;
}

export interface InformerHealth {
  healthy: boolean;
  /** Why not, or what is going wrong while still within the bound; null when all is well. */
  problem: string | null;
  failingSinceMs: number | null;
}

class WatchFailure extends Error {}

/** An error as one line: the API's own message when it sent a Status. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown } | null;
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : null;
  let detail = typeof e?.message === 'string' ? e.message : String(err);
  // node-fetch's words for a watch whose connection ended without the end of its chunked body.
  if ((e as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE' || detail === 'Premature close') detail = 'the watch connection was cut (premature close)';
  if (typeof e?.body === 'string' || (typeof e?.body === 'object' && e?.body !== null)) {
    try {
      const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: unknown };
      if (typeof body.message === 'string') detail = body.message;
    } catch {
      // Not a Status: keep the error's own message.
    }
  }
  if (status !== null && /^HTTP-Code: \d+/.test(detail)) detail = detail.replace(/\s+/g, ' ').slice(0, 200);
  // A watch refused before its stream starts carries only the status line: say what it usually means.
  const hint = status === null || detail.length > 40 ? '' : HINTS[status] ?? '';
  return status !== null ? `HTTP ${status}: ${detail}${hint ? ` (${hint})` : ''}` : detail;
}

const HINTS: Record<number, string> = {
  401: 'the API server does not accept these credentials',
  403: 'the router\'s account may not list or watch them: the chart\'s Role grants get, list and watch on pods',
  404: 'no such namespace or resource',
};

/**
 * client-node's Watch with the bounds its own lacks: the request is abandoned
 * when no answer comes within the request timeout, and the stream is cut when
 * it outlives the timeoutSeconds the server was asked for. Bookmarks are asked
 * for, so that a long quiet watch resumes from a recent resourceVersion.
 */
class BoundedWatch extends Watch {
  constructor(kc: KubeConfig, private readonly settings: InformerSettings, private readonly events: { connected(): void; error(status: unknown): void }) {
    super(kc);
  }

  override watch(path: string, params: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: any, watchObj?: any) => void, done: (err: any) => void): Promise<AbortController> {
    const s = this.settings;
    const timeoutSeconds = s.watchTimeoutSeconds > 0 ? s.watchTimeoutSeconds : 300 + Math.floor(s.random() * 300);
    const outer = new AbortController();
    let inner: AbortController | null = null;
    let finished = false;
    let lifetime: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(answer);
      clearTimeout(lifetime);
      inner?.abort();
      done(err);
    };
    const answer = setTimeout(() => finish(new WatchFailure(`watch: no answer within ${s.requestTimeoutMs / 1000} s`)), s.requestTimeoutMs);
    outer.signal.addEventListener('abort', () => {
      // The informer stopping or moving on: not an error to report.
      finished = true;
      clearTimeout(answer);
      clearTimeout(lifetime);
      inner?.abort();
    });
    super.watch(path, { ...params, allowWatchBookmarks: true, timeoutSeconds }, (phase, obj, raw) => {
      if (finished) return;
      if (phase === 'ERROR') this.events.error(obj);
      callback(phase, obj, raw);
    }, finish).then((controller) => {
      inner = controller;
      if (finished) {
        controller.abort();
        return;
      }
      clearTimeout(answer);
      this.events.connected();
      lifetime = setTimeout(() => finish(new WatchFailure(`watch: still open ${s.watchGraceMs / 1000} s after its ${timeoutSeconds} s timeout; the connection is presumed dead`)), timeoutSeconds * 1000 + s.watchGraceMs);
    }, finish);
    return Promise.resolve(outer);
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopped = true;
  private state: 'starting' | 'ok' | 'failing' = 'starting';
  private failingSince: number | null = null;
  private lastError = '';
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private boundTimer: NodeJS.Timeout | undefined;
  private lists = 0;
  private lastWatchError = '';

  constructor(kc: KubeConfig, private readonly target: InformerTarget<T>, handlers: InformerHandlers<T>, private readonly settings: InformerSettings, private readonly log: LogFn) {
    this.retryMs = settings.retryMinMs;
    const watch = new BoundedWatch(kc, settings, {
      connected: () => this.succeeded(),
      error: (status) => { this.lastWatchError = describeError(status); },
    });
    this.informer = new ListWatch<T>(target.path, watch, () => this.list(), false, target.labelSelector || undefined);
    this.informer.on('add', (o) => handlers.upsert(o));
    this.informer.on('update', (o) => handlers.upsert(o));
    this.informer.on('delete', (o) => handlers.remove(o));
    this.informer.on('error', (err) => this.failed(err));
  }

  start(): void {
    this.stopped = false;
    this.state = 'starting';
    this.failingSince = this.settings.now();
    this.armBound();
    void this.informer.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.boundTimer);
    void this.informer.stop();
  }

  health(): InformerHealth {
    const since = this.failingSince;
    if (since === null) return { healthy: true, problem: null, failingSinceMs: null };
    const forMs = this.settings.now() - since;
    const healthy = forMs < this.settings.unhealthyAfterMs;
    const problem = this.state === 'starting' && this.lastError === ''
      ? `Kubernetes discovery has not listed ${this.target.what} yet (${(forMs / 1000).toFixed(1)} s)`
      : `Kubernetes discovery of ${this.target.what} has been failing for ${(forMs / 1000).toFixed(1)} s: ${this.lastError}`;
    return { healthy, problem, failingSinceMs: since };
  }

  private async list(): Promise<KubernetesListObject<T>> {
    const ms = this.settings.requestTimeoutMs;
    const bounded: ConfigurationOptions = {
      middleware: [{
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      }],
      middlewareMergeStrategy: 'append',
    };
    let result: KubernetesListObject<T>;
    try {
      result = await this.target.list(bounded);
    } catch (err) {
      const name = (err as { name?: string; type?: string }).name;
      if (name === 'AbortError' || (err as { type?: string }).type === 'aborted') throw new WatchFailure(`list: no answer within ${ms / 1000} s`);
      throw err;
    }
    this.lists++;
    if (this.lists > 1) {
      this.log('info', `k8s discovery: listed ${this.target.what} again (${result.items.length} found) after the watch ended with ${this.lastWatchError || 'an expired resourceVersion'}`);
    }
    this.lastWatchError = '';
    this.succeeded(result.items.length);
    return result;
  }

  private succeeded(found?: number): void {
    if (this.stopped) return;
    this.retryMs = this.settings.retryMinMs;
    clearTimeout(this.boundTimer);
    if (this.state === 'failing' && this.failingSince !== null) {
      const forS = ((this.settings.now() - this.failingSince) / 1000).toFixed(1);
      this.log('info', `k8s discovery works again after ${forS} s of failures`);
    } else if (this.state === 'starting') {
      this.log('info', `k8s discovery: watching ${this.target.what}${found !== undefined ? ` (${found} found)` : ''}`);
    }
    this.state = 'ok';
    this.failingSince = null;
    this.lastError = '';
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const message = describeError(err);
    const jittered = Math.round(this.retryMs * (0.8 + 0.4 * this.settings.random()));
    if (this.state === 'ok') {
      this.failingSince = this.settings.now();
      this.armBound();
    }
    if (this.state !== 'failing') {
      this.log('warn', `k8s discovery of ${this.target.what} failed: ${message}; retrying with back-off (engines already found stay in rotation)`);
    }
    this.state = 'failing';
    this.lastError = message;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) void this.informer.start();
    }, jittered);
    this.retryMs = Math.min(this.retryMs * 2, this.settings.retryMaxMs);
  }

  private armBound(): void {
    clearTimeout(this.boundTimer);
    this.boundTimer = setTimeout(() => {
      if (this.stopped || this.failingSince === null) return;
      this.log('error', `k8s discovery of ${this.target.what} has failed for ${this.settings.unhealthyAfterMs / 1000} s (${this.lastError || 'no answer'}): /health answers 503 until it works again`);
    }, this.settings.unhealthyAfterMs);
  }
}
