#!/usr/bin/env node
// make vllm-status / vllm-status-simplified: every node's live state, the
// last run and what to do next, for people or (--json) for scripts.
import { relative } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { latestRun } from './lib/results/run-store.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir } from './lib/stack/load-node.js';
import { localNodeStatus, remoteNodeStatus } from './lib/status/collect-status.js';
import { formatFull, formatSimplified } from './lib/status/format-status.js';
import { nextSteps, type StatusReport } from './lib/status/node-status.js';

const USAGE = `usage: vllm-status [--simplified] [--json] [--extra-vars FILE]

Reads the live state of every node (processes, /health, router /engines, engine /metrics).
  --simplified   the short emoji summary with next-step hints
  --json         machine-readable report`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { simplified: { type: 'boolean' }, json: { type: 'boolean' }, 'extra-vars': { type: 'string' } });
  const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS).catch((err: Error) => {
    throw new Error(`${err.message}\n(no usable configuration: run make defconfig-vllm-local, or another defconfig, first)`);
  });
  const { vars, nodes } = config;
  const dir = resultsDir(config);
  const [statuses, run] = await Promise.all([
    Promise.all(nodes.map(({ node, spec }) => (node.host === null ? localNodeStatus(spec, vars.vllm_target) : remoteNodeStatus(spec, node.host, vars.vllm_target)))),
    latestRun(dir),
  ]);
  const lastRun = run ? { run_id: run.run_id, verdict: run.verdict, started_at: run.started_at, path: relative(process.cwd(), `${dir}/${run.run_id}`) } : null;
  const report: StatusReport = {
    generated_at: new Date().toISOString(), target: vars.vllm_target, ab: vars.vllm_baseline_and_dev,
    nodes: statuses, last_run: lastRun, hints: nextSteps(statuses, lastRun),
  };
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else console.log(values.simplified ? formatSimplified(report) : formatFull(report));
}

runMain(main);
