// The engines the router knows: their models, health, in-flight count,
// request statistics and the load they last reported. Passive health: an
// endpoint failing several times in a row is ejected for a back-off that
// doubles, and must answer /health before it takes requests again.
import type { EndpointView, EngineLoad } from './routing/index.js';
import { RequestStats, type StatsSnapshot } from './request-stats.js';

export const EJECT_AFTER_FAILURES = 3;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/** An engine as the router tracks it; algorithms see it as an EndpointView, with no copy per request. */
export class Endpoint implements EndpointView {
  inFlight = 0;
  /** In flight and not yet answered with headers (prefill, as the production-stack router counts). */
  awaitingFirstByte = 0;
  consecutiveFailures = 0;
  ejected = false;
  /** When an ejected endpoint may be probed again. */
  retryAt = 0;
  backoffMs = BACKOFF_MIN_MS;
  engine: EngineLoad | null = null;
  readonly stats: RequestStats;
  readonly addedAt = Date.now();

  constructor(readonly url: string, public models: string[], windowSeconds: number, readonly id: string) {
    this.stats = new RequestStats(windowSeconds);
  }

  healthy(): boolean {
    return !this.ejected;
  }

  /** Counted only when an algorithm asks: round robin never does. */
  get recentRequests(): number {
    return this.stats.snapshot().requests;
  }

  succeeded(): void {
    this.consecutiveFailures = 0;
    this.ejected = false;
    this.backoffMs = BACKOFF_MIN_MS;
  }

  /** Returns true when this failure ejected the endpoint (or kept it out longer). */
  failed(now: number): boolean {
    this.consecutiveFailures++;
    if (this.consecutiveFailures < EJECT_AFTER_FAILURES && !this.ejected) return false;
    this.ejected = true;
    this.backOff(now);
    return true;
  }

  /** Out of rotation until the back-off has passed, and the next back-off twice as long. */
  backOff(now: number): void {
    this.retryAt = now + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  snapshot(): Record<string, unknown> {
    const s: StatsSnapshot = this.stats.snapshot();
    return {
      id: this.id, url: this.url, models: this.models, healthy: this.healthy(), in_flight: this.inFlight,
      qps: s.qps, requests_in_window: s.requests, ttft_ms_avg: s.avgTtftMs, latency_ms_avg: s.avgLatencyMs,
      consecutive_failures: this.consecutiveFailures, engine_load: this.engine, added_at: new Date(this.addedAt).toISOString(),
    };
  }
}

export interface BackendSpec {
  url: string;
  models: string[];
}

export class EndpointSet {
  private readonly byUrl = new Map<string, Endpoint>();
  private sorted: Endpoint[] = [];
  /** Every model ever served, so that "no engine now" (503) differs from "unknown model" (404). */
  readonly modelsSeen = new Set<string>();
  private nextId = 0;

  constructor(private readonly windowSeconds: number) {}

  /** Makes the set exactly these backends; endpoints that stay keep their stats and in-flight requests. */
  replace(backends: BackendSpec[]): { added: string[]; removed: string[] } {
    const wanted = new Map(backends.map((b) => [b.url, b.models]));
    const removed = [...this.byUrl.keys()].filter((u) => !wanted.has(u));
    for (const u of removed) this.byUrl.delete(u);
    const added: string[] = [];
    for (const [url, models] of wanted) {
      const existing = this.byUrl.get(url);
      if (existing) existing.models = models;
      else {
        this.byUrl.set(url, new Endpoint(url, models, this.windowSeconds, `engine-${this.nextId++}`));
        added.push(url);
      }
      for (const m of models) this.modelsSeen.add(m);
    }
    this.sorted = [...this.byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
    return { added, removed };
  }

  all(): Endpoint[] {
    return this.sorted;
  }

  get(url: string): Endpoint | undefined {
    return this.byUrl.get(url);
  }

  /** Healthy endpoints serving the model, URL-sorted, minus those already tried. */
  candidates(model: string, exclude: Set<string>): Endpoint[] {
    return this.sorted.filter((e) => e.models.includes(model) && e.healthy() && !exclude.has(e.url));
  }

  models(): string[] {
    return [...new Set(this.sorted.flatMap((e) => e.models))].sort();
  }
}
