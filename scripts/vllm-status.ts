#!/usr/bin/env node
// make vllm-status / vllm-status-simplified: every node's live state — the
// nodes the configuration has and the nodes this project has deployed, which
// may differ — the last run and what to do next, for people or (--json) for scripts.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { STATE_DIR } from './lib/config/node-config.js';
import { listRecords } from './lib/deployment/index.js';
import { latestRun } from './lib/results/run-store.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir, type LoadedConfig } from './lib/stack/load-node.js';
import { localNodeStatus, remoteNodeStatus } from './lib/targets/local/local-status.js';
import { formatFull, formatSimplified, simplifiedReport } from './lib/status/format-status.js';
import { nextSteps, type NodeStatus, type StatusReport } from './lib/status/node-status.js';

const USAGE = `usage: vllm-status [--simplified] [--json] [--extra-vars FILE]

Reads the live state of every node the configuration has or this project has
deployed (processes, /health, the router's /engines, engine /metrics), and what
the configuration changed since deploy.
  --simplified   the short emoji summary with next-step hints (with --json: its own small shape)
  --json         machine-readable report`;

const ROLE_ORDER = (name: string) => (name === 'vllm-baseline' ? 0 : name === 'vllm-dev' ? 1 : 2);

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { simplified: { type: 'boolean' }, json: { type: 'boolean' }, 'extra-vars': { type: 'string' } });
  const path = resolve(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const project = dirname(path);
  const config: LoadedConfig | null = existsSync(path)
    ? await loadAllNodes(path, { validate: false }).catch((err: Error) => {
      throw new Error(`${err.message}\n(no usable configuration: run make defconfig-vllm-local, or another defconfig, first)`);
    })
    : null;
  if (config && config.vars.vllm_target !== 'local') {
    // Kubernetes: the cluster and the nodes' Helm releases hold what is deployed (lib/targets/kube/kube-status.ts).
    const { kubeStatusReport } = await import('./lib/targets/kube/kube-status.js');
    const dir = resultsDir(config);
    const run = await latestRun(dir);
    console.log(await kubeStatusReport(config.nodes, project, run ? { run_id: run.run_id, verdict: run.verdict, path: relative(process.cwd(), `${dir}/${run.run_id}`) } : null, values.json ?? false));
    return;
  }
  const stateDir = join(project, STATE_DIR);
  const records = await listRecords(stateDir);
  const names = [...new Set([...(config?.nodes.map((n) => n.node.name) ?? []), ...records.map((r) => r.node)])]
    .sort((a, b) => ROLE_ORDER(a) - ROLE_ORDER(b) || a.localeCompare(b));
  const target = config?.vars.vllm_target ?? null;
  const dir = config ? resultsDir(config) : join(project, 'results');
  const status = (name: string): Promise<NodeStatus> => {
    const conf = config?.nodes.find((n) => n.node.name === name) ?? null;
    const record = records.find((r) => r.node === name);
    const host = record ? record.host : conf?.node.host ?? null;
    const spec = record?.spec ?? conf?.spec;
    if (host !== null && spec) return remoteNodeStatus(spec, host, target ?? 'local', conf !== null);
    return localNodeStatus({ node: name, stateDir }, conf?.spec ?? null, target ?? 'local');
  };
  const [statuses, run] = await Promise.all([Promise.all(names.map(status)), latestRun(dir)]);
  const lastRun = run ? { run_id: run.run_id, verdict: run.verdict, started_at: run.started_at, path: relative(process.cwd(), `${dir}/${run.run_id}`) } : null;
  const report: StatusReport = {
    generated_at: new Date().toISOString(), target, ab: config?.vars.vllm_baseline_and_dev ?? false,
    nodes: statuses, last_run: lastRun, hints: nextSteps(statuses, lastRun, config !== null),
  };
  if (values.json) console.log(JSON.stringify(values.simplified ? simplifiedReport(report) : report, null, 2));
  else console.log(values.simplified ? formatSimplified(report) : formatFull(report));
}

runMain(main);
