#!/usr/bin/env node
// make vllm-compare: baseline vs dev (or one node across runs), metric by
// metric, with bootstrap confidence intervals and noise thresholds. Exit 1 on
// a regression, so that CI and bisection scripts can use it.
import { parseCli } from './lib/cli.js';
import { thresholdsFrom } from './lib/compare/compare.js';
import { resolveRunId } from './lib/results/bench-files.js';
import { compareFile, compareRuns, resolveSides, writeComparison } from './lib/results/compare-runs.js';
import { formatComparison } from './lib/report/format-compare.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-compare [--base RUN[:NODE]] [--dev RUN[:NODE]] [--json] [--extra-vars FILE]

Compares per-request benchmark samples: median and p99 TTFT, TPOT, ITL, E2EL, error
rate, output throughput and goodput, each with a 95 % bootstrap confidence interval of
the change and a verdict against the CONFIG_VLLM_AB_MAX_* noise thresholds.
  --base RUN[:NODE]  A/B: default latest:vllm-baseline (RUN is a run id or "latest");
                     one node: default the run before DEV of the same configuration
  --dev RUN[:NODE]   A/B: default the base run's vllm-dev; for another run, the base's node;
                     one node: default its latest run with a benchmark
  --json             print compare.json instead of the table
Writes results/<dev run>/compare.json (compare-<base run>.json across runs).
Exit status: 0 no regression, 1 a regression, 2 the comparison could not be made.`;

async function main(): Promise<number> {
  const { values } = parseCli(USAGE, { base: { type: 'string' }, dev: { type: 'string' }, json: { type: 'boolean' }, 'extra-vars': { type: 'string' } });
  const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const dir = resultsDir(config);
  const sides = await resolveSides(dir, values.base ?? '', values.dev ?? '', config.nodes.map((n) => n.node.name));
  const result = await compareRuns(dir, sides, thresholdsFrom(config.vars));
  const file = compareFile(dir, sides);
  await writeComparison(file, result);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`${formatComparison(result, process.stdout.isTTY)}\n-> ${file}`);
    console.log(`make vllm-visualize-results${sides.dev.runId === (await resolveRunId(dir, 'latest').catch(() => '')) ? '' : ` RUN=${sides.dev.runId}`} draws it in ${sides.dev.runId}/report.html`);
  }
  return result.verdict === 'regression' ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
