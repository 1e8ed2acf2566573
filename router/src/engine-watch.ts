// Background work on the engines: scrape each one's /metrics every
// --engine-stats-interval (for least-loaded routing and /engines), and probe
// /health of ejected ones so they return once they answer again.
import { request } from 'undici';
import type { EndpointSet } from './endpoints.js';

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

async function get(url: string, headers: Record<string, string>, timeoutMs: number): Promise<string | null> {
  try {
    const res = await request(url, { headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    return res.statusCode === 200 ? text : null;
  } catch {
    return null;
  }
}

export class EngineWatch {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly endpoints: EndpointSet, private readonly engineAuth: Record<string, string>, private readonly log: (msg: string) => void) {}

  start(statsIntervalSeconds: number, activeHealthChecks: boolean): void {
    this.stop();
    const scrape = () => this.scrapeAll();
    scrape();
    this.timers.push(setInterval(scrape, statsIntervalSeconds * 1000).unref());
    this.timers.push(setInterval(() => this.probeEjected(activeHealthChecks), 500).unref());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  async scrapeAll(): Promise<void> {
    await Promise.all(this.endpoints.all().map(async (e) => {
      const text = await get(`${e.url}/metrics`, this.engineAuth, 2000);
      if (text !== null) e.engine = parseEngineLoad(text);
    }));
  }

  private async probeEjected(all: boolean): Promise<void> {
    const now = Date.now();
    await Promise.all(this.endpoints.all().map(async (e) => {
      if (!(e.ejected ? now >= e.retryAt : all)) return;
      if (e.ejected) e.backOff(now); // each failed probe waits longer; success resets it
      const ok = (await get(`${e.url}/health`, this.engineAuth, 1000)) !== null;
      if (ok && e.ejected) {
        e.succeeded();
        this.log(`engine ${e.url} answers /health again: back in rotation`);
      } else if (!ok && !e.ejected && all) {
        e.failed(Date.now());
      }
    }));
  }
}
