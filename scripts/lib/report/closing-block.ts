// The block make vllm (and vllm-test, vllm-benchmark) ends with, one per run:
// the verdict, each node's steps, suites and benchmark headline, the A/B
// verdict with two nodes, where the results and report are, what to run next.
// Pure: the run's outcome in, lines out.
import type { BenchResult } from '../vocabulary/bench-result.js';
import type { MetricVerdict } from '../compare/verdict.js';
import type { Verdict } from '../results/verdict.js';

export interface NodeOutcome {
  node: string;
  verdict: Verdict;
  steps: Record<string, 'pass' | 'fail'>;
  /** null: no suite ran on the node in this run. */
  suites: { passed: number; failed: number; skipped: number; failedCases: string[] } | null;
  bench: BenchResult[];
  /** Why the node failed when the run lost it mid-run (unreachable), and where its logs are. */
  lost?: { reason: string; logs: string };
}

export interface RunOutcome {
  command: string;
  runId: string;
  verdict: Verdict;
  seconds: number | null;
  interrupted: { signal: string; not_collected: string[] } | null;
  nodes: NodeOutcome[];
  /** Baseline vs dev of this run, with two nodes that both benchmarked. */
  ab: { verdict: MetricVerdict; changes: string[]; compared: number } | null;
  /** Paths as the user should type them (relative to where make runs). */
  resultsPath: string;
  reportPath: string | null;
  /** The previous run of this configuration with a benchmark of the (single) node, for make vllm-compare. */
  previousRun: string | null;
}

const ICON: Record<string, string> = { pass: '✅', fail: '❌', incomplete: '⏳', interrupted: '⏹️', regression: '❌', improvement: '✅', 'no-change': '✅' };
/** Steps in the order a run takes them; others (a future step) after them. */
const STEP_ORDER = ['deploy', 'smoke', 'test', 'benchmark', 'metrics'];
export const stepRank = (s: string) => (STEP_ORDER.includes(s) ? STEP_ORDER.indexOf(s) : STEP_ORDER.length);
const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(x >= 100 ? 0 : 1)} ms`);

function benchHeadline(r: BenchResult): string {
  return `${r.workload}: ${r.request_throughput.toFixed(1)} req/s, ${r.output_throughput.toFixed(0)} output tok/s, TTFT p50 ${ms(r.median_ttft_ms)} p99 ${ms(r.p99_ttft_ms)}, `
    + `TPOT p50 ${ms(r.median_tpot_ms)}, ${r.completed} ok / ${r.failed} failed`;
}

function nextSteps(o: RunOutcome): string[] {
  const out: string[] = [];
  const failedSuites = o.nodes.flatMap((n) => n.suites?.failedCases ?? []);
  if (o.interrupted) out.push('make vllm                      # a clean run (the stacks still run: make vllm-status)');
  if (failedSuites.length > 0) {
    const suites = [...new Set(failedSuites.map((c) => c.split(' › ')[0]))].join(',');
    out.push(`make vllm-test SUITES=${suites}   # the failed suites again, against the running stack`);
  } else if (o.verdict === 'fail') out.push(`look at ${o.resultsPath}/<node>/steps/ (the failed step says why) and the output above`);
  const benchmarked = o.nodes.some((n) => n.bench.length > 0);
  if (o.ab) out.push('make vllm-compare              # the A/B table, metric by metric, with confidence intervals');
  else if (benchmarked && o.nodes.length === 1) {
    out.push(o.previousRun
      ? `make vllm-compare              # this run against ${o.previousRun}, the previous one of this configuration`
      : 'make vllm-benchmark            # a second run to compare with (make vllm-compare then compares the two)');
  }
  if (o.reportPath) out.push(`xdg-open ${o.reportPath}`);
  out.push('make vllm-results              # every figure of the newest run per node');
  out.push('make vllm-teardown             # stop the stacks (results stay)');
  return out;
}

export function closingBlock(o: RunOutcome): string[] {
  const took = o.seconds === null ? '' : ` in ${o.seconds.toFixed(0)} s`;
  const lines = ['', `━━ ${o.command}: run ${o.runId} ${ICON[o.verdict] ?? ''} ${o.verdict}${took}${o.interrupted ? ` (${o.interrupted.signal})` : ''} ━━`];
  const width = Math.max(...o.nodes.map((n) => n.node.length));
  for (const n of o.nodes) {
    const steps = Object.entries(n.steps).sort(([a], [b]) => stepRank(a) - stepRank(b)).map(([s, v]) => `${s} ${ICON[v]}`).join('  ');
    lines.push(`${n.node.padEnd(width)}  ${ICON[n.verdict] ?? ''} ${n.verdict}${steps ? `   ${steps}` : '   (no step recorded)'}`);
    if (n.lost) lines.push(`  lost       ${n.lost.reason}`, `             its logs: ${n.lost.logs} on the host`);
    if (n.suites) {
      lines.push(`  suites     ${n.suites.passed} passed, ${n.suites.failed} failed, ${n.suites.skipped} skipped`);
      for (const c of n.suites.failedCases) lines.push(`             ❌ ${c}`);
    }
    for (const r of n.bench) lines.push(`  benchmark  ${benchHeadline(r)}`);
  }
  if (o.ab) {
    lines.push(`A/B          ${ICON[o.ab.verdict]} ${o.ab.verdict}: dev against baseline, ${o.ab.compared} metrics${o.ab.changes.length === 0 ? ', every change within noise' : ''}`);
    for (const c of o.ab.changes) lines.push(`             ${c}`);
  }
  for (const n of o.interrupted?.not_collected ?? []) lines.push(`not collected ${n}`);
  lines.push(`results      ${o.resultsPath}/`);
  lines.push(`report       ${o.reportPath ?? 'none (this run has no benchmark)'}`);
  const next = nextSteps(o);
  lines.push(`next         ${next[0]}`, ...next.slice(1).map((l) => `             ${l}`));
  return lines;
}
