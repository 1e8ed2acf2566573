#!/usr/bin/env node
// make vllm-visualize-results: results/<run-id>/report.html, a self-contained
// page of the run's benchmark figures, charts and baseline-vs-dev verdicts.
import { join } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { thresholdsFrom } from './lib/compare/compare.js';
import { renderReport } from './lib/report/report-html.js';
import { writeFileAtomic } from './lib/atomic-write.js';
import { resolveRunId } from './lib/results/bench-files.js';
import { runBenchmarks, runComparison, runHistory } from './lib/results/run-benchmarks.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-visualize [--run RUN] [--extra-vars FILE]

Writes results/<run-id>/report.html for RUN (a run id, default: latest): TTFT and E2E
latency CDFs, inter-token latency distribution, throughput, goodput, prefix-cache hit
rates, per-engine load, a timeline of the run, the baseline-vs-dev comparison
(compare.json, or computed now) and the comparisons with earlier runs (compare-<run>.json). The page opens offline: charts are inline SVG.`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { run: { type: 'string' }, 'extra-vars': { type: 'string' } });
  const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const dir = resultsDir(config);
  const runId = await resolveRunId(dir, values.run ?? 'latest');
  const { run, workloads } = await runBenchmarks(dir, runId);
  const compare = await runComparison(dir, runId, workloads, thresholdsFrom(config.vars));
  const file = join(dir, runId, 'report.html');
  await writeFileAtomic(file, await renderReport({ run, workloads, compare, history: await runHistory(dir, runId) }));
  const charts = [...workloads.values()].length;
  console.log(`${file}${charts === 0 ? ' (this run has no benchmark results)' : ''}`);
}

runMain(main);
