// The run-end metrics snapshot (results/<run-id>/<node>/metrics.json): the key
// series over the run from Prometheus when it runs, else one reading of every
// engine's and the router's /metrics page, so that a report can show how the
// stack behaved after the stack is gone.
import { PrometheusApi } from './prometheus-api.js';
import { parseMetricsText, type TextSample } from '../vocabulary/prometheus-text.js';

export interface KeySeries {
  name: string;
  /** PromQL, given the rate window (e.g. "20s"). */
  expr: (w: string) => string;
}

const quantile = (q: number, metric: string) => (w: string) => `histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket[${w}])))`;

/** What a report needs to draw the run's timeline; the dashboard shows the same quantities. */
export const KEY_SERIES: KeySeries[] = [
  { name: 'targets_up', expr: () => 'max by (component, engine) (up{component=~"engine|router"})' },
  { name: 'engine_requests_running', expr: () => 'sum by (engine) (vllm:num_requests_running)' },
  { name: 'engine_requests_waiting', expr: () => 'sum by (engine) (vllm:num_requests_waiting)' },
  { name: 'engine_kv_cache_usage', expr: () => 'max by (engine) (vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc)' },
  { name: 'engine_requests_per_second', expr: (w) => `sum by (engine) (rate(vllm:e2e_request_latency_seconds_count[${w}]))` },
  { name: 'router_requests_per_second', expr: (w) => `sum(rate(vllm:num_incoming_requests_total[${w}]))` },
  { name: 'router_error_ratio', expr: (w) => `(sum(rate(vllm:request_errors_total[${w}])) or vector(0)) / sum(rate(vllm:num_incoming_requests_total[${w}]))` },
  { name: 'ttft_p50_seconds', expr: quantile(0.5, 'vllm:time_to_first_token_seconds') },
  { name: 'ttft_p95_seconds', expr: quantile(0.95, 'vllm:time_to_first_token_seconds') },
  { name: 'ttft_p99_seconds', expr: quantile(0.99, 'vllm:time_to_first_token_seconds') },
  { name: 'e2e_latency_p50_seconds', expr: quantile(0.5, 'vllm:e2e_request_latency_seconds') },
  { name: 'e2e_latency_p95_seconds', expr: quantile(0.95, 'vllm:e2e_request_latency_seconds') },
  { name: 'e2e_latency_p99_seconds', expr: quantile(0.99, 'vllm:e2e_request_latency_seconds') },
  { name: 'inter_token_latency_p95_seconds', expr: quantile(0.95, 'vllm:inter_token_latency_seconds') },
  { name: 'prompt_tokens_per_second', expr: (w) => `sum(rate(vllm:prompt_tokens_total[${w}]))` },
  { name: 'generation_tokens_per_second', expr: (w) => `sum(rate(vllm:generation_tokens_total[${w}]))` },
  { name: 'prefix_cache_hit_rate', expr: (w) => `sum(rate(vllm:prefix_cache_hits_total[${w}]) or rate(vllm:gpu_prefix_cache_hits_total[${w}])) / sum(rate(vllm:prefix_cache_queries_total[${w}]) or rate(vllm:gpu_prefix_cache_queries_total[${w}]))` },
  { name: 'lmcache_hit_rate', expr: (w) => `sum(rate(lmcache:num_hit_tokens_total[${w}])) / sum(rate(lmcache:num_requested_tokens_total[${w}]))` },
];

/** At most this many points per series, whatever the run's length. */
export const MAX_POINTS = 300;

export interface SnapshotWindow {
  start: number;
  end: number;
  stepSeconds: number;
  /** The rate window: as Grafana's $__rate_interval, at least four scrapes and one step plus a scrape. */
  rateWindow: string;
}

export function snapshotWindow(startMs: number, endMs: number, scrapeIntervalSeconds: number): SnapshotWindow {
  const end = Math.ceil(endMs / 1000);
  const span = Math.max(0, end - Math.floor(startMs / 1000));
  const stepSeconds = Math.max(scrapeIntervalSeconds, Math.ceil(span / MAX_POINTS));
  // Prometheus evaluates at start, start + step, ...: the start is moved so that the end is one of them.
  const start = end - Math.floor(span / stepSeconds) * stepSeconds;
  return { start, end, stepSeconds, rateWindow: `${Math.max(4 * scrapeIntervalSeconds, stepSeconds + scrapeIntervalSeconds)}s` };
}

/** JSON has no NaN: a value a query could not compute (0/0, an empty histogram) is null. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

export interface SnapshotSeries {
  name: string;
  query: string;
  labels: Record<string, string>;
  /** [unix seconds, value] */
  values: [number, number | null][];
}

export interface PageReading {
  target: string;
  url: string;
  error: string | null;
  samples: TextSample[];
}

export interface MetricsSnapshot {
  node: string;
  source: 'prometheus' | 'metrics-pages';
  taken_at: string;
  prometheus_url: string | null;
  window: { start: string; end: string; step_seconds: number; rate_window: string } | null;
  /** The key series over the run (source prometheus), else none. */
  series: SnapshotSeries[];
  /** Every /metrics page read once at the end: the exact totals, whatever Prometheus saw. */
  pages: PageReading[];
  /** Why the snapshot is less than it could be (Prometheus down, a page unreadable). */
  problems: string[];
}

export async function seriesFromPrometheus(api: PrometheusApi, w: SnapshotWindow): Promise<SnapshotSeries[]> {
  const series = await Promise.all(KEY_SERIES.map(async (k) => {
    const query = k.expr(w.rateWindow);
    const result = await api.queryRange(query, w.start, w.end, w.stepSeconds);
    return result.map((r) => ({ name: k.name, query, labels: r.labels, values: r.values.map(([t, v]) => [t, finite(v)] as [number, number | null]) }));
  }));
  return series.flat();
}

const PAGE_TIMEOUT_MS = 5_000;
// The families a report can use; process and runtime metrics are left out.
const KEPT = /^(vllm|lmcache):/;

export async function readPage(target: string, url: string): Promise<PageReading> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PAGE_TIMEOUT_MS) });
    if (!res.ok) return { target, url, error: `HTTP ${res.status}`, samples: [] };
    // NaN and ±Inf values are written as null (JSON has neither).
    return { target, url, error: null, samples: parseMetricsText(await res.text()).filter((s) => KEPT.test(s.name)) };
  } catch (err) {
    return { target, url, error: (err as Error).message, samples: [] };
  }
}

export interface SnapshotSources {
  node: string;
  /** The node's Prometheus, or null when it runs none. */
  prometheusUrl: string | null;
  scrapeIntervalSeconds: number;
  /** Since when (the deploy), ms since the epoch. */
  sinceMs: number;
  /** /metrics pages for the fallback: the engines and the router. */
  pages: { target: string; url: string }[];
}

/** The series from Prometheus when it answers, and the pages in any case; throws only when nothing could be read. */
export async function takeSnapshot(s: SnapshotSources, nowMs = Date.now()): Promise<MetricsSnapshot> {
  const problems: string[] = [];
  const w = snapshotWindow(s.sinceMs, nowMs, s.scrapeIntervalSeconds);
  let series: SnapshotSeries[] | null = null;
  if (s.prometheusUrl !== null) {
    try {
      series = await seriesFromPrometheus(new PrometheusApi(s.prometheusUrl, 10_000), w);
      if (series.length === 0) problems.push('Prometheus has no sample of the run yet (it was shorter than a scrape interval); the pages hold the totals');
    } catch (err) {
      problems.push(`Prometheus gave no series, so only the /metrics pages were read: ${(err as Error).message}`);
    }
  }
  const pages = await Promise.all(s.pages.map((p) => readPage(p.target, p.url)));
  for (const p of pages) if (p.error) problems.push(`${p.target}: ${p.url} unreadable: ${p.error}`);
  if (series === null && pages.every((p) => p.error !== null)) throw new Error(`no metrics could be read on ${s.node}:\n  ${problems.join('\n  ')}`);
  return {
    node: s.node, source: series === null ? 'metrics-pages' : 'prometheus', taken_at: new Date(nowMs).toISOString(), prometheus_url: s.prometheusUrl,
    window: series === null ? null : { start: new Date(w.start * 1000).toISOString(), end: new Date(w.end * 1000).toISOString(), step_seconds: w.stepSeconds, rate_window: w.rateWindow },
    series: series ?? [], pages, problems,
  };
}
