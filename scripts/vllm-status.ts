#!/usr/bin/env node
// make vllm-status / vllm-status-simplified: every node's live state — the
// nodes the configuration has and the nodes this project has deployed, which
// may differ — the last run and what to do next, for people or (--json) for scripts.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { STATE_DIR } from './lib/config/node-config.js';
import { latestRun } from './lib/results/run-store.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir, type LoadedConfig } from './lib/stack/load-node.js';
import { formatFull, formatFullNodes, formatSimplified, formatSimplifiedNodes, simplifiedReport } from './lib/status/format-status.js';
import { localNodeStatuses } from './lib/targets/local/local-report.js';
import { nextSteps, type StatusReport } from './lib/status/node-status.js';

const USAGE = `usage: vllm-status [--simplified] [--json] [--extra-vars FILE]

Reads the live state of every node the configuration has or this project has
deployed (processes, /health, the router's /engines, engine /metrics), and what
the configuration changed since deploy.
  --simplified   the short emoji summary with next-step hints (with --json: its own small shape)
  --json         machine-readable report`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { simplified: { type: 'boolean' }, json: { type: 'boolean' }, 'extra-vars': { type: 'string' } });
  const path = resolve(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const project = dirname(path);
  const config: LoadedConfig | null = existsSync(path)
    ? await loadAllNodes(path, { validate: false }).catch((err: Error) => {
      throw new Error(`${err.message}\n(no usable configuration: run make defconfig-vllm-local, or another defconfig, first)`);
    })
    : null;
  const dir = config ? resultsDir(config) : join(project, 'results');
  const run = await latestRun(dir);
  const lastRun = run ? { run_id: run.run_id, verdict: run.verdict, started_at: run.started_at, path: relative(process.cwd(), `${dir}/${run.run_id}`) } : null;
  // Local stacks this project deployed are shown on every target: on a Kubernetes
  // configuration they are the ones it no longer has, and still run.
  const local = await localNodeStatuses(project, config);
  if (config && config.vars.vllm_target !== 'local') {
    // Kubernetes: the cluster and the nodes' Helm releases hold what is deployed (lib/targets/kube/kube-status.ts).
    const { kubeStatusReport } = await import('./lib/targets/kube/kube-status.js');
    const kube = await kubeStatusReport(config.nodes, project, lastRun, values.json ?? false, values.simplified ?? false);
    if (values.json) {
      console.log(JSON.stringify({ ...(JSON.parse(kube) as object), local_nodes: local }, null, 2));
      return;
    }
    const lines = [kube];
    if (local.length > 0) {
      lines.push('', `Also on the local target, deployed by this project (${STATE_DIR}/) but not in the configuration:`);
      lines.push(values.simplified ? formatSimplifiedNodes(local) : formatFullNodes(local));
      lines.push(`👉 make vllm-teardown stops ${local.filter((n) => n.state !== 'stopped').map((n) => n.node).join(', ') || 'them'} (whatever .config says)`);
    }
    if (!values.simplified && lastRun) lines.push(`last run started at ${lastRun.started_at}; make vllm-results shows it`);
    console.log(lines.join('\n'));
    return;
  }
  const report: StatusReport = {
    generated_at: new Date().toISOString(), target: config?.vars.vllm_target ?? null, ab: config?.vars.vllm_baseline_and_dev ?? false,
    nodes: local, last_run: lastRun, hints: nextSteps(local, lastRun, config !== null),
  };
  if (values.json) console.log(JSON.stringify(values.simplified ? simplifiedReport(report) : report, null, 2));
  else console.log(values.simplified ? formatSimplified(report) : formatFull(report));
}

runMain(main);
