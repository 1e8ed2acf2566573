// The report's charts as Vega-Lite specifications, built from the runs'
// figures and samples (pure: data in, specs out; render-svg.ts draws them).
import type { TopLevelSpec } from 'vega-lite';
import type { NodeSeries } from '../vocabulary/bench-result.js';
import { succeeded, type RequestSample } from '../vocabulary/request-sample.js';
import { percentileSorted, sortedCopy } from '../quantile.js';

export interface Chart {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

const WIDTH = 330;
const HEIGHT = 220;
/** Points of a distribution curve: enough for a smooth line, few enough for a small page. */
const CURVE_POINTS = 200;

function nodeColour(nodes: string[]) {
  return { field: 'node', type: 'nominal' as const, title: 'node', scale: { domain: nodes, range: ['#4c78a8', '#f58518', '#54a24b', '#e45756'] } };
}

function base(title: string): Record<string, unknown> {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: WIDTH, height: HEIGHT, title, config: { font: 'sans-serif', view: { stroke: null } } };
}

function measuredOk(s: NodeSeries): RequestSample[] {
  return s.samples.filter((x) => !x.warmup && succeeded(x));
}

/** The cumulative distribution of a latency, as CURVE_POINTS quantiles per node. */
function cdf(id: string, title: string, series: NodeSeries[], value: (s: RequestSample) => number | null, axis: string): Chart {
  const values: { node: string; ms: number; fraction: number }[] = [];
  for (const s of series) {
    const sorted = sortedCopy(measuredOk(s).map(value).filter((v): v is number => v !== null));
    if (sorted.length === 0) continue;
    for (let i = 0; i <= CURVE_POINTS; i++) values.push({ node: s.node, ms: percentileSorted(sorted, (i / CURVE_POINTS) * 100), fraction: i / CURVE_POINTS });
  }
  return {
    id, title,
    spec: {
      ...base(title), data: { values }, mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'ms', type: 'quantitative', title: axis, scale: { type: 'log' } },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of requests', axis: { format: '%' } },
        color: nodeColour(series.map((s) => s.node)),
      },
    } as TopLevelSpec,
  };
}

/** Inter-token gaps as a histogram per node (share of gaps per bin), up to the 99.5th percentile. */
function itlHistogram(series: NodeSeries[]): Chart {
  const gaps = series.map((s) => sortedCopy(measuredOk(s).flatMap((x) => x.itl_ms)));
  const top = Math.max(...gaps.map((g) => (g.length > 0 ? percentileSorted(g, 99.5) : 0)), 1e-3);
  const bins = 40;
  const width = top / bins;
  const values: { node: string; ms: number; share: number }[] = [];
  series.forEach((s, k) => {
    const g = gaps[k] as Float64Array;
    if (g.length === 0) return;
    const counts = new Array<number>(bins).fill(0);
    for (const x of g) if (x <= top) counts[Math.min(bins - 1, Math.floor(x / width))]! += 1;
    counts.forEach((c, b) => values.push({ node: s.node, ms: (b + 0.5) * width, share: c / g.length }));
  });
  const title = 'Inter-token latency distribution';
  return {
    id: 'itl', title,
    spec: {
      ...base(title), data: { values }, mark: { type: 'line', interpolate: 'step', point: false },
      encoding: {
        x: { field: 'ms', type: 'quantitative', title: 'gap between tokens (ms)' },
        y: { field: 'share', type: 'quantitative', title: 'share of gaps', axis: { format: '%' } },
        color: nodeColour(series.map((s) => s.node)),
      },
    } as TopLevelSpec,
  };
}

function bars(id: string, title: string, rows: { node: string; group: string; value: number }[], axis: string, nodes: string[], format = ''): Chart {
  return {
    id, title,
    spec: {
      ...base(title), data: { values: rows }, mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'group', type: 'nominal', title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'node', type: 'nominal', scale: { domain: nodes } },
        y: { field: 'value', type: 'quantitative', title: axis, ...(format ? { axis: { format } } : {}) },
        color: nodeColour(nodes),
      },
    } as TopLevelSpec,
  };
}

/** Output tokens per second and median TTFT in windows of about a second, from the time each node started. */
function timeline(series: NodeSeries[]): Chart {
  const values: { node: string; second: number; metric: string; value: number }[] = [];
  for (const s of series) {
    const ok = measuredOk(s);
    if (ok.length === 0) continue;
    const start = Math.min(...s.samples.filter((x) => !x.warmup).map((x) => x.start_ms));
    const tokens = new Map<number, number>();
    const ttfts = new Map<number, number[]>();
    for (const x of ok) {
      if (x.ttft_ms === null) continue;
      const first = x.start_ms + x.ttft_ms;
      const sec = Math.floor((first - start) / 1000);
      ttfts.set(sec, [...(ttfts.get(sec) ?? []), x.ttft_ms]);
      const perChunk = (x.completion_tokens ?? 0) / (x.itl_ms.length + 1);
      let t = first;
      for (let i = 0; i <= x.itl_ms.length; i++) {
        const at = Math.floor((t - start) / 1000);
        tokens.set(at, (tokens.get(at) ?? 0) + perChunk);
        t += x.itl_ms[i] ?? 0;
      }
    }
    for (const [second, n] of tokens) values.push({ node: s.node, second, metric: 'output tokens/s', value: n });
    for (const [second, list] of ttfts) values.push({ node: s.node, second, metric: 'median TTFT (ms)', value: percentileSorted(sortedCopy(list), 50) });
  }
  const title = 'During the run: throughput and TTFT per second';
  return {
    id: 'timeline', title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, config: { font: 'sans-serif', view: { stroke: null } },
      data: { values },
      facet: { row: { field: 'metric', type: 'nominal', title: null } },
      spec: {
        width: WIDTH * 2, height: 140, mark: { type: 'line', point: { size: 12 } },
        encoding: {
          x: { field: 'second', type: 'quantitative', title: 'seconds since the start' },
          y: { field: 'value', type: 'quantitative', title: null },
          color: nodeColour(series.map((s) => s.node)),
        },
      },
      resolve: { scale: { y: 'independent' } },
    } as TopLevelSpec,
  };
}

/** Multi-round QA: each round's TTFT, p50 and p90 per node; null when the samples have no rounds. */
function byRound(series: NodeSeries[]): Chart | null {
  const values: { node: string; round: number; stat: string; ms: number }[] = [];
  for (const s of series) {
    const rounds = new Map<number, number[]>();
    for (const x of measuredOk(s)) if (x.round !== null && x.ttft_ms !== null) rounds.set(x.round, [...(rounds.get(x.round) ?? []), x.ttft_ms]);
    for (const [round, list] of rounds) {
      const sorted = sortedCopy(list);
      values.push({ node: s.node, round, stat: 'p50', ms: percentileSorted(sorted, 50) }, { node: s.node, round, stat: 'p90', ms: percentileSorted(sorted, 90) });
    }
  }
  if (values.length === 0) return null;
  const title = 'TTFT by conversation round (round 1 cold, later rounds warm)';
  return {
    id: 'rounds', title,
    spec: {
      ...base(title), data: { values }, mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'round', type: 'ordinal', title: 'round of the conversation', axis: { labelAngle: 0 } },
        y: { field: 'ms', type: 'quantitative', title: 'TTFT (ms)' },
        color: nodeColour(series.map((s) => s.node)),
        strokeDash: { field: 'stat', type: 'nominal', title: 'percentile' },
      },
    } as TopLevelSpec,
  };
}

/** Median TTFT of first rounds (nothing of the conversation cached yet) and of later rounds; null without rounds. */
export function coldWarmTtft(s: NodeSeries): { cold: number | null; warm: number | null } | null {
  const ok = measuredOk(s).filter((x) => x.round !== null && x.ttft_ms !== null);
  if (ok.length === 0) return null;
  const median = (xs: number[]) => (xs.length === 0 ? null : percentileSorted(sortedCopy(xs), 50));
  return { cold: median(ok.filter((x) => x.round === 1).map((x) => x.ttft_ms as number)), warm: median(ok.filter((x) => (x.round as number) > 1).map((x) => x.ttft_ms as number)) };
}

/** Every chart of one workload, for the nodes that ran it. */
export function workloadCharts(series: NodeSeries[]): Chart[] {
  const nodes = series.map((s) => s.node);
  const charts = [
    cdf('ttft', 'Time to first token (CDF)', series, (x) => x.ttft_ms, 'TTFT (ms, log scale)'),
    byRound(series),
    cdf('e2el', 'End-to-end latency (CDF)', series, (x) => x.e2el_ms, 'E2E latency (ms, log scale)'),
    itlHistogram(series),
    bars('throughput', 'Throughput and goodput', series.flatMap((s) => [
      { node: s.node, group: 'requests/s', value: s.result.request_throughput },
      { node: s.node, group: 'goodput (requests/s)', value: s.result.request_goodput },
    ]), 'requests per second', nodes),
    bars('tokens', 'Output token throughput', series.map((s) => ({ node: s.node, group: 'output tokens/s', value: s.result.output_throughput })), 'tokens per second', nodes),
    bars('cache', 'Prefix cache (engine counters)', series.flatMap((s) => [
      { node: s.node, group: 'GPU-tier hit rate', value: s.result.prefix_cache_hit_rate ?? 0 },
      ...(s.result.offload_hit_rate !== null ? [{ node: s.node, group: 'offload hit rate', value: s.result.offload_hit_rate }] : []),
    ]), 'share of prompt tokens', nodes, '%'),
    bars('engines', 'Requests per engine (engine counters)', series.flatMap((s) => s.result.engines.map((e) => ({ node: s.node, group: e.id, value: e.requests ?? 0 }))), 'requests served', nodes),
    timeline(series),
  ];
  return charts.filter((c): c is Chart => c !== null);
}
