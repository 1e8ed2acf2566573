// results/<run-id>/report.html: one self-contained page (inline SVG charts,
// inline styles, nothing fetched) from a handlebars template.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { BenchResult, NodeSeries } from '../vocabulary/bench-result.js';
import type { MetricComparison } from '../compare/compare.js';
import type { Comparison } from '../compare/comparison.js';
import type { RunRecord } from '../results/run-store.js';
import { coldWarmTtft, workloadCharts } from './charts.js';
import { stepRank } from './closing-block.js';
import { renderSvg } from './render-svg.js';

const TEMPLATE = fileURLToPath(new URL('../../../../scripts/lib/report/report.hbs', import.meta.url));

export interface ReportInput {
  run: RunRecord;
  /** Per workload, the nodes that ran it. */
  workloads: Map<string, NodeSeries[]>;
  compare: Comparison | null;
  /** This run against earlier ones (make vllm-compare across runs). */
  history?: Comparison[];
  generatedAt?: Date;
}

const num = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)} %`);

const FIGURES: [string, (r: BenchResult) => string][] = [
  ['completed / failed / warm-up', (r) => `${r.completed} / ${r.failed} / ${r.warmup_requests}`],
  ['duration (s)', (r) => num(r.duration)],
  ['requests/s', (r) => num(r.request_throughput, 2)],
  ['goodput (requests/s)', (r) => num(r.request_goodput, 2)],
  ['output tokens/s', (r) => num(r.output_throughput, 0)],
  ['TTFT median / p99 (ms)', (r) => `${num(r.median_ttft_ms)} / ${num(r.p99_ttft_ms)}`],
  ['TPOT median / p99 (ms)', (r) => `${num(r.median_tpot_ms)} / ${num(r.p99_tpot_ms)}`],
  ['ITL median / p99 (ms)', (r) => `${num(r.median_itl_ms)} / ${num(r.p99_itl_ms)}`],
  ['E2EL median / p99 (ms)', (r) => `${num(r.median_e2el_ms, 0)} / ${num(r.p99_e2el_ms, 0)}`],
  ['error rate', (r) => pct(r.error_rate)],
  ['prefix cache hit rate (GPU tier)', (r) => pct(r.prefix_cache_hit_rate)],
  ['offload hit rate', (r) => pct(r.offload_hit_rate)],
  ['client CPU (cores)', (r) => num(r.client.cores, 2)],
];

function compareRow(m: MetricComparison) {
  const u = m.unit === '%' ? ' pt' : ' %';
  const signed = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);
  const value = (x: number | null) => (x === null ? '-' : `${x.toFixed(Math.abs(x) >= 100 ? 0 : 2)} ${m.unit}`);
  return {
    name: m.name, baseline: value(m.baseline), dev: value(m.dev), change: m.delta_pct === null ? '-' : `${signed(m.delta_pct)}${u}`,
    ci: m.ci_low_pct === null ? '-' : `[${signed(m.ci_low_pct)}, ${signed(m.ci_high_pct)}]${u}`, threshold: `±${m.threshold_pct}${u}`, verdict: m.verdict,
  };
}

export async function renderReport(input: ReportInput): Promise<string> {
  const template = Handlebars.compile(readFileSync(TEMPLATE, 'utf8'), { strict: false });
  const workloads = [];
  for (const [name, series] of input.workloads) {
    const charts = [];
    // The timeline is twice as wide as the others: it takes a row of its own.
    for (const chart of workloadCharts(series)) charts.push({ id: `${name}-${chart.id}`, svg: await renderSvg(chart.spec), wide: chart.id === 'timeline' });
    const coldWarm = series.map(coldWarmTtft);
    workloads.push({
      name, nodes: series.map((s) => s.node), charts,
      rounds: coldWarm.some((c) => c !== null),
      figures: [
        ...FIGURES.map(([label, f]) => ({ label, values: series.map((s) => f(s.result)) })),
        ...(coldWarm.some((c) => c !== null) ? [{ label: 'TTFT median, round 1 (cold) / later rounds (warm) (ms)', values: coldWarm.map((c) => (c ? `${num(c.cold)} / ${num(c.warm)}` : '-')) }] : []),
      ],
      warnings: series.flatMap((s) => s.result.warnings.map((w) => `${s.node}: ${w}`)),
    });
  }
  const compare = input.compare;
  const section = (c: Comparison, title: string, baseLabel: string, devLabel: string) => ({
    title, baseLabel, devLabel, compare: c,
    tables: c.workloads.map((w) => ({ workload: w, rows: c.metrics.filter((m) => m.workload === w).map(compareRow) })),
  });
  const comparisons = [
    ...(compare ? [section(compare, 'Baseline vs dev', 'baseline', 'dev')] : []),
    ...(input.history ?? []).map((c) => section(c, `Against an earlier run: ${c.base} → ${c.dev}`, 'earlier run', 'this run')),
  ];
  return template({
    run: input.run,
    nodes: Object.keys(input.run.nodes),
    overview: overview(input.run, workloads.length > 0 ? [...input.workloads.values()] : [], compare),
    comparisons,
    workloads,
    generatedAt: (input.generatedAt ?? new Date()).toISOString(),
  });
}

/** The run at a glance: its verdict, each node's steps, the benchmark headline per node. */
function overview(run: RunRecord, series: NodeSeries[][], compare: Comparison | null) {
  const byNode = new Map<string, string[]>();
  for (const s of series.flat()) {
    const r = s.result;
    byNode.set(s.node, [...(byNode.get(s.node) ?? []), `${r.workload}: ${num(r.request_throughput, 2)} req/s, TTFT p50 ${num(r.median_ttft_ms, 0)} ms, ${r.completed} ok / ${r.failed} failed`]);
  }
  return {
    verdict: run.verdict,
    ab: compare?.verdict ?? null,
    nodes: Object.entries(run.nodes).map(([node, n]) => ({
      node, verdict: n.verdict,
      steps: Object.entries(n.steps).sort(([a], [b]) => stepRank(a) - stepRank(b)).map(([step, v]) => ({ step, verdict: v })),
      bench: byNode.get(node) ?? [],
    })),
  };
}
