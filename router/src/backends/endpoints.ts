// The engines the router knows: their models, health, in-flight count,
// request statistics and the load they last reported. Passive health: an
// endpoint whose connections fail several times in a row is ejected for a
// back-off that doubles, and must answer /health before it takes requests
// again; with outlier detection on, one answering 5xx several times in a row
// is ejected for a time (as Envoy's consecutive_5xx).
import type { BackendSpec, ModelType, PodRef } from '../discovery/index.js';
import { EngineAdapters } from '../lora/index.js';
import type { EndpointView, EngineLoad } from '../routing/index.js';
import { RequestStats, type StatsSnapshot } from './request-stats.js';

export const EJECT_AFTER_FAILURES = 3;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** The longest outlier ejection, in ejection times (Envoy's max_ejection_time is 10 × its base by default). */
const OUTLIER_MAX_FACTOR = 10;

/** Why an endpoint is out of rotation: each has its own way back. */
export type Ejection = 'failures' | 'health-check' | 'outlier';

export interface OutlierPolicy {
  /** Consecutive 5xx answers that eject; 0 = never. */
  consecutive5xx: number;
  ejectionMs: number;
}

/** A model as the engine's own /v1/models describes it (id, root, parent, max_model_len, …). */
export type ModelCard = Record<string, unknown> & { id: string };

/** An engine as the router tracks it; algorithms see it as an EndpointView, with no copy per request. */
export class Endpoint implements EndpointView {
  inFlight = 0;
  /** In flight and not yet answered with a body byte (prefill, as the production-stack router counts). */
  awaitingFirstByte = 0;
  consecutiveFailures = 0;
  consecutive5xx = 0;
  /** Outlier ejections since the last answer below 500: each lasts one ejection time longer. */
  outlierEjections = 0;
  ejected: Ejection | null = null;
  /** When an ejected endpoint may be probed (or, after an outlier ejection, return) again. */
  retryAt = 0;
  backoffMs = BACKOFF_MIN_MS;
  /** Put to sleep through /sleep: out of rotation until /wake_up. */
  sleeping = false;
  engine: EngineLoad | null = null;
  /** Where Kubernetes discovery found it; null for static backends. */
  pod: PodRef | null = null;
  /** The engine's own model objects, by id, from its last /v1/models; null before the first answer. */
  cards: Map<string, ModelCard> | null = null;
  /** Its LoRA adapters (from /v1/models) and which are likely in a GPU slot. */
  readonly lora = new EngineAdapters();
  readonly stats: RequestStats;
  readonly addedAt = Date.now();

  constructor(readonly url: string, public models: string[], windowSeconds: number, readonly id: string, public label = 'default', public modelType: ModelType | null = null) {
    this.stats = new RequestStats(windowSeconds);
  }

  healthy(): boolean {
    return this.ejected === null;
  }

  /** Requests for the model may come here: a base model of its discovery, or an adapter it lists now. */
  serves(model: string): boolean {
    return this.models.includes(model) || this.lora.served.has(model);
  }

  /** Its /v1/models was read: the cards, and its adapters exactly as listed (one gone is dropped from the discovered models too). */
  setCards(cards: Map<string, ModelCard>): string[] {
    this.cards = cards;
    const { added, removed } = this.lora.fromCards(cards.values());
    if (removed.length > 0) this.models = this.models.filter((m) => !removed.includes(m));
    return added;
  }

  /** Counted only when an algorithm asks: round robin never does. */
  get recentRequests(): number {
    return this.stats.snapshot().requests;
  }

  /** The engine answered (any status): its connection works. Returns true when this answer ejected it (outlier detection). */
  answered(status: number, now: number, outlier: OutlierPolicy): boolean {
    this.consecutiveFailures = 0;
    if (outlier.consecutive5xx > 0 && status >= 500) {
      this.consecutive5xx++;
      if (this.consecutive5xx < outlier.consecutive5xx || this.ejected === 'outlier') return false;
      this.outlierEjections = Math.min(this.outlierEjections + 1, OUTLIER_MAX_FACTOR);
      this.consecutive5xx = 0;
      this.ejected = 'outlier';
      this.retryAt = now + outlier.ejectionMs * this.outlierEjections;
      return true;
    }
    if (status < 500) {
      this.consecutive5xx = 0;
      this.outlierEjections = 0;
    }
    // An answer proves the connection: an ejection for failed connections or checks ends; an outlier one runs its time.
    if (this.ejected !== 'outlier') this.recover();
    return false;
  }

  /** Back in rotation, with the back-off reset. */
  recover(): void {
    this.ejected = null;
    this.backoffMs = BACKOFF_MIN_MS;
  }

  /** A connection failure or timeout. Returns true when it ejected the endpoint (or kept it out longer). */
  failed(now: number): boolean {
    this.consecutiveFailures++;
    if (this.consecutiveFailures < EJECT_AFTER_FAILURES && this.ejected === null) return false;
    if (this.ejected !== 'outlier') this.ejected = 'failures';
    this.backOff(now);
    return true;
  }

  /** Out of rotation at once: an active health check failed. */
  failedCheck(now: number): void {
    this.ejected = 'health-check';
    this.backOff(now);
  }

  /** Out of rotation until the back-off has passed, and the next back-off twice as long. */
  backOff(now: number): void {
    this.retryAt = Math.max(this.retryAt, now + this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  snapshot(): Record<string, unknown> {
    const s: StatsSnapshot = this.stats.snapshot();
    return {
      id: this.id, url: this.url, models: this.models, model_label: this.label, model_type: this.modelType, healthy: this.healthy(),
      ejected: this.ejected, sleeping: this.sleeping, in_flight: this.inFlight, qps: s.qps, requests_in_window: s.requests,
      ttft_ms_avg: s.avgTtftMs, latency_ms_avg: s.avgLatencyMs, consecutive_failures: this.consecutiveFailures,
      consecutive_5xx: this.consecutive5xx, engine_load: this.engine, lora: this.lora.snapshot(), added_at: new Date(this.addedAt).toISOString(),
      pod: this.pod ? { name: this.pod.name, namespace: this.pod.namespace, ready_since: this.pod.readySince } : null,
    };
  }
}

export class EndpointSet {
  private readonly byUrl = new Map<string, Endpoint>();
  private sorted: Endpoint[] = [];
  /** Every model ever served, so that "no engine now" (503) differs from "unknown model" (404). */
  readonly modelsSeen = new Set<string>();
  /** Every name an engine listed as a LoRA adapter: one no engine lists now is unknown (404), not waiting for an engine (503). */
  readonly adaptersSeen = new Set<string>();
  private nextId = 0;

  constructor(private readonly windowSeconds: number) {}

  /** Makes the set exactly these backends; endpoints that stay keep their stats and in-flight requests. */
  replace(backends: BackendSpec[]): { added: Endpoint[]; removed: string[] } {
    const wanted = new Map(backends.map((b) => [b.url, b]));
    const removed = [...this.byUrl.keys()].filter((u) => !wanted.has(u));
    for (const u of removed) this.byUrl.delete(u);
    const added: Endpoint[] = [];
    for (const [url, b] of wanted) {
      const existing = this.byUrl.get(url);
      if (existing) {
        existing.models = b.models;
        existing.label = b.label ?? 'default';
        existing.modelType = b.modelType ?? null;
        existing.pod = b.pod ?? null;
      } else {
        const e = new Endpoint(url, b.models, this.windowSeconds, `engine-${this.nextId++}`, b.label ?? 'default', b.modelType ?? null);
        e.pod = b.pod ?? null;
        this.byUrl.set(url, e);
        added.push(e);
      }
      for (const m of b.models) this.modelsSeen.add(m);
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

  byId(id: string): Endpoint | undefined {
    return this.sorted.find((e) => e.id === id);
  }

  /** Endpoints in rotation serving the model, URL-sorted, minus those already tried. */
  candidates(model: string, exclude: Set<string>): Endpoint[] {
    return this.sorted.filter((e) => e.serves(model) && e.ejected === null && !e.sleeping && !exclude.has(e.url));
  }

  models(): string[] {
    return [...new Set(this.sorted.flatMap((e) => [...e.models, ...e.lora.served.keys()]))].sort();
  }

  /** Whether a missing model is an adapter (404 when no engine lists it) rather than a base model (503). */
  isAdapter(model: string): boolean {
    return this.adaptersSeen.has(model);
  }
}
