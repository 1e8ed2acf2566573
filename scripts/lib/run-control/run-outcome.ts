// What a finished (or interrupted) run holds, gathered for make vllm's closing
// block: each node's steps, suites and benchmark results, the run's A/B
// comparison (written as compare.json, as make vllm-compare would), and its
// report.html, written so that the block can say where it is.
import { join, relative } from 'node:path';
import type { Thresholds } from '../compare/compare.js';
import type { NodeOutcome, RunOutcome } from '../report/closing-block.js';
import { renderReport } from '../report/report-html.js';
import { readSuiteResults } from '../suites/result-file.js';
import { writeFileAtomic } from '../atomic-write.js';
import { BASELINE_NODE, DEV_NODE, writeComparison } from '../results/compare-runs.js';
import { previousOf, runsWithBenchmark } from '../results/previous-run.js';
import { runBenchmarks, runComparison, runHistory } from '../results/run-benchmarks.js';

export async function runOutcome(resultsDir: string, runId: string, command: string, thresholds: Thresholds, cwd = process.cwd()): Promise<RunOutcome> {
  const { run, workloads } = await runBenchmarks(resultsDir, runId);
  const nodes: NodeOutcome[] = [];
  for (const [node, summary] of Object.entries(run.nodes)) {
    const { results } = await readSuiteResults(join(resultsDir, runId, node));
    const cases = results.flatMap((r) => r.cases.map((c) => ({ ...c, suite: r.suite })));
    const count = (s: string) => cases.filter((c) => c.status === s).length;
    nodes.push({
      node, verdict: summary.verdict, steps: summary.steps,
      suites: results.length === 0 ? null : { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), failedCases: cases.filter((c) => c.status === 'failed').map((c) => `${c.suite} › ${c.name}`) },
      bench: [...workloads.values()].flatMap((series) => series.filter((s) => s.node === node).map((s) => s.result)),
      ...(summary.lost ? { lost: { reason: summary.lost.reason, logs: summary.lost.logs } } : {}),
    });
  }
  const both = [...workloads.values()].some((s) => s.some((x) => x.node === BASELINE_NODE) && s.some((x) => x.node === DEV_NODE));
  const compare = both ? await runComparison(resultsDir, runId, workloads, thresholds) : null;
  if (compare) await writeComparison(join(resultsDir, runId, 'compare.json'), compare);
  let reportPath: string | null = null;
  if (workloads.size > 0) {
    const file = join(resultsDir, runId, 'report.html');
    await writeFileAtomic(file, await renderReport({ run, workloads, compare, history: await runHistory(resultsDir, runId) }));
    reportPath = relative(cwd, file);
  }
  const only = nodes.length === 1 ? nodes[0]!.node : null;
  const previous = only ? previousOf(await runsWithBenchmark(resultsDir, only), runId) : null;
  const signed = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);
  return {
    command, runId, verdict: run.verdict,
    seconds: run.finished_at ? (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000 : null,
    interrupted: run.interrupted ? { signal: run.interrupted.signal, not_collected: run.interrupted.not_collected } : null,
    nodes,
    ab: compare ? {
      verdict: compare.verdict, compared: compare.metrics.length,
      changes: compare.metrics.filter((m) => m.verdict !== 'no-change')
        .map((m) => `${m.verdict === 'regression' ? '❌' : '✅'} ${m.workload} ${m.name}: ${signed(m.delta_pct)}${m.unit === '%' ? ' pt' : ' %'} [${signed(m.ci_low_pct)}, ${signed(m.ci_high_pct)}] (noise threshold ±${m.threshold_pct})`),
    } : null,
    resultsPath: relative(cwd, join(resultsDir, runId)) || '.',
    reportPath,
    previousRun: previous?.runId ?? null,
  };
}
