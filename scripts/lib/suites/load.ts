// Background load for the cases that perturb the stack while clients keep
// asking: open loop at a fixed rate, or closed loop with a fixed number of
// clients. Every request is bounded in time, the whole load in count, and
// each request leaves a sample saying when it went, how it ended and which
// engine answered, so a case can look at any window (before a kill, during
// a scale-down).
import type { SuiteContext } from './context.js';
import type { EngineDirectory } from './engines.js';
import type { StreamEnd } from './http.js';

export interface LoadRequest {
  path: '/v1/completions' | '/v1/chat/completions';
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  stream?: boolean;
}

export interface LoadSample {
  /** ms since the load started, when the request went and when it ended. */
  sent: number;
  ended: number;
  status: number | null;
  ok: boolean;
  engine: string | null;
  /** x-router-attempts, when the router says. */
  attempts: number | null;
  stream: boolean;
  end?: StreamEnd;
  error?: string;
  retryAfter?: string;
}

export interface LoadOptions {
  /** Open loop: requests per second. */
  rate?: number;
  /** Closed loop: clients, each sending its next request when the last ended. */
  concurrency?: number;
  /** Bound of each request (then it counts as hung). */
  timeoutMs?: number;
  /** Bound of the whole load. */
  maxRequests?: number;
}

const MAX_REQUESTS = 100_000;

export class Load {
  readonly samples: LoadSample[] = [];
  private readonly running = new Set<Promise<void>>();
  private issued = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = performance.now();
  private readonly workers: Promise<void>[] = [];

  private constructor(
    private readonly ctx: SuiteContext,
    private readonly dir: EngineDirectory | null,
    private readonly next: (i: number) => LoadRequest,
    private readonly opts: LoadOptions,
  ) {}

  static start(ctx: SuiteContext, dir: EngineDirectory | null, next: (i: number) => LoadRequest, opts: LoadOptions): Load {
    const load = new Load(ctx, dir, next, opts);
    if (opts.rate !== undefined) load.openLoop(opts.rate);
    else load.closedLoop(opts.concurrency ?? 1);
    return load;
  }

  /** ms since the load started. */
  now(): number {
    return performance.now() - this.t0;
  }

  get inFlight(): number {
    return this.running.size;
  }

  private get exhausted(): boolean {
    return this.stopped || this.ctx.signal.aborted || this.issued >= (this.opts.maxRequests ?? MAX_REQUESTS);
  }

  private openLoop(rate: number): void {
    const tick = () => {
      const due = Math.floor((this.now() * rate) / 1000) + 1;
      while (this.issued < due && !this.exhausted) this.track(this.one(this.issued++));
    };
    tick();
    this.timer = setInterval(tick, Math.max(2, Math.min(50, 1000 / rate)));
  }

  private closedLoop(concurrency: number): void {
    for (let w = 0; w < concurrency; w++) {
      this.workers.push((async () => {
        while (!this.exhausted) {
          const p = this.one(this.issued++);
          this.track(p);
          await p;
        }
      })());
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async one(i: number): Promise<void> {
    const req = this.next(i);
    const url = `${this.ctx.stack.routerUrl}${req.path}`;
    const sent = this.now();
    const opts = { headers: req.headers, timeoutMs: this.opts.timeoutMs ?? 30_000, signal: this.ctx.signal };
    const sample: LoadSample = { sent, ended: 0, status: null, ok: false, engine: null, attempts: null, stream: req.stream === true };
    let headers: Record<string, string>;
    if (req.stream) {
      const r = await this.ctx.http.stream(url, req.body, opts);
      Object.assign(sample, { status: r.status, ok: r.end === 'done', end: r.end, ...(r.error ? { error: r.error } : {}) });
      headers = r.headers;
    } else {
      const r = await this.ctx.http.post(url, req.body, opts);
      Object.assign(sample, { status: r.status, ok: r.status === 200, ...(r.error ? { error: r.error } : r.status !== 200 ? { error: `HTTP ${r.status}: ${r.text.slice(0, 160)}` } : {}) });
      if (r.timedOut) sample.end = 'timeout';
      headers = r.headers;
    }
    sample.engine = this.dir?.servedBy(headers) ?? null;
    const attempts = Number(headers['x-router-attempts']);
    sample.attempts = Number.isInteger(attempts) && attempts > 0 ? attempts : null;
    if (headers['retry-after'] !== undefined) sample.retryAfter = headers['retry-after'];
    sample.ended = this.now();
    this.samples.push(sample);
  }

  /** Stops sending and waits for the requests in flight (each is bounded by its timeout). */
  async stop(): Promise<LoadSample[]> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.workers);
    await Promise.all([...this.running]);
    return this.samples.sort((a, b) => a.sent - b.sent);
  }
}

export function within(samples: LoadSample[], from: number, to: number): LoadSample[] {
  return samples.filter((s) => s.sent >= from && s.sent < to);
}

/** Completed requests per second over a window, by when they ended. */
export function throughput(samples: LoadSample[], from: number, to: number): number {
  const done = samples.filter((s) => s.ok && s.ended >= from && s.ended < to).length;
  return to > from ? done / ((to - from) / 1000) : 0;
}

export function failures(samples: LoadSample[]): LoadSample[] {
  return samples.filter((s) => !s.ok);
}

/** "3 × HTTP 500, 1 × ECONNRESET": what went wrong, grouped, for a failure message. */
export function describeFailures(samples: LoadSample[], max = 3): string {
  const groups = new Map<string, number>();
  for (const s of failures(samples)) {
    const key = s.status !== null && s.status !== 200 ? `HTTP ${s.status}` : s.end === 'timeout' ? 'no answer in time' : (s.error ?? 'failed').slice(0, 80);
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].sort((a, b) => b[1] - a[1]).slice(0, max).map(([k, n]) => `${n} × ${k}`).join(', ');
}

/** Waits ms, or less when the run is interrupted. */
export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const done = () => {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  };
  const t = setTimeout(done, ms);
  signal?.addEventListener('abort', done, { once: true });
});
