// Background work on the engines: every --engine-stats-interval, scrape each
// one's /metrics (for least-loaded and prefix-aware routing, and /engines) and
// /v1/models (their model objects and LoRA adapters, for routing and the
// router's /v1/models); bring
// ejected ones back once they pass a check (or, after an outlier ejection,
// once its time is over); and with --static-backend-health-checks, check the
// ones in rotation every --static-backend-health-check-interval.
import { request } from 'undici';
import type { Endpoint, EndpointSet, ModelCard } from './endpoints.js';
import { probe } from './health-probe.js';
import { parseLoraInfo } from '../lora/index.js';
import type { Level } from '../logger.js';

const SCRAPE_TIMEOUT_MS = 2000;
/** How often ejected endpoints are looked at; each has its own back-off on top. */
const TICK_MS = 500;
/** A check of an ejected endpoint without active health checks (GET /health). */
const RETURN_PROBE_TIMEOUT_MS = 1000;

function gauge(text: string, name: string): number {
  let total = 0;
  let seen = false;
  let from = 0;
  for (;;) {
    const at = text.indexOf(name, from);
    if (at < 0) break;
    from = at + name.length;
    const next = text[at + name.length];
    if ((at > 0 && text[at - 1] !== '\n') || (next !== '{' && next !== ' ')) continue;
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end < 0 ? undefined : end);
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) {
      total += value;
      seen = true;
    }
  }
  return seen ? total : 0;
}

export function parseEngineLoad(text: string): { waiting: number; running: number; kvUsage: number } {
  const kv = gauge(text, 'vllm:kv_cache_usage_perc') || gauge(text, 'vllm:gpu_cache_usage_perc');
  return { waiting: gauge(text, 'vllm:num_requests_waiting'), running: gauge(text, 'vllm:num_requests_running'), kvUsage: kv };
}

/** The model objects of an engine's /v1/models answer, by id; null when it is not that shape. */
export function parseModelCards(text: string): Map<string, ModelCard> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return null;
  const cards = new Map<string, ModelCard>();
  for (const m of data) {
    if (m && typeof m === 'object' && typeof (m as { id?: unknown }).id === 'string') cards.set((m as ModelCard).id, m as ModelCard);
  }
  return cards;
}

async function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<string | null> {
  try {
    const res = await request(url, { headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : null;
  } catch {
    return null;
  }
}

export interface HealthChecks {
  /** Active checks of the endpoints in rotation (--static-backend-health-checks). */
  active: boolean;
  intervalMs: number;
  timeoutMs: number;
}

export class EngineWatch {
  private timers: NodeJS.Timeout[] = [];
  private checking = false;

  constructor(private readonly endpoints: EndpointSet, private readonly engineAuth: Record<string, string>, private readonly log: (level: Level, msg: string) => void, private readonly checks: HealthChecks) {}

  start(statsIntervalSeconds: number): void {
    this.stop();
    const scrape = () => this.scrapeAll();
    scrape();
    this.timers.push(setInterval(scrape, statsIntervalSeconds * 1000).unref());
    this.timers.push(setInterval(() => this.returnEjected(Date.now()), TICK_MS).unref());
    if (this.checks.active) this.timers.push(setInterval(() => this.checkAll(), this.checks.intervalMs).unref());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async scrapeAll(): Promise<void> {
    await Promise.all(this.endpoints.all().map((e) => this.scrape(e)));
  }

  /** Reads one engine's load and model objects; a failed read keeps the previous values. */
  async scrape(e: Endpoint): Promise<void> {
    const [metrics, models] = await Promise.all([get(`${e.url}/metrics`, this.engineAuth, SCRAPE_TIMEOUT_MS), get(`${e.url}/v1/models`, this.engineAuth, SCRAPE_TIMEOUT_MS)]);
    const cards = models === null ? null : parseModelCards(models);
    if (cards !== null) for (const a of e.setCards(cards)) this.endpoints.adaptersSeen.add(a);
    if (metrics !== null) {
      e.engine = parseEngineLoad(metrics);
      const lora = parseLoraInfo(metrics);
      if (lora !== null) e.lora.fromMetrics(lora);
    }
  }

  private check(e: Endpoint, timeoutMs: number): Promise<boolean> {
    return this.checks.active
      ? probe(e.url, e.models[0] ?? null, e.modelType, this.engineAuth, this.checks.timeoutMs)
      : probe(e.url, null, null, this.engineAuth, timeoutMs);
  }

  private async returnEjected(now: number): Promise<void> {
    await Promise.all(this.endpoints.all().map(async (e) => {
      if (e.ejected === null || now < e.retryAt) return;
      if (e.ejected === 'outlier') {
        e.recover();
        this.log('info', `engine ${e.url} back in rotation after its outlier ejection`);
        return;
      }
      e.backOff(now); // each failed check waits longer; success resets it
      const cause = e.ejected;
      if (await this.check(e, RETURN_PROBE_TIMEOUT_MS)) {
        // A request may have ended the ejection meanwhile, or ejected it anew for another cause.
        if (e.ejected !== cause) return;
        e.recover();
        this.log('info', `engine ${e.url} passes its check again: back in rotation`);
      }
    }));
  }

  private async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.endpoints.all().map(async (e) => {
        if (e.ejected !== null || (await this.check(e, this.checks.timeoutMs))) return;
        if (e.ejected !== null) return;
        e.failedCheck(Date.now());
        this.log('warn', `engine ${e.url} failed its health check${e.modelType ? ` (a ${e.modelType} request)` : ' (GET /health)'}: out of rotation until it passes`);
      }));
    } finally {
      this.checking = false;
    }
  }
}
