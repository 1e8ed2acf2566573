#!/usr/bin/env node
// Controller-side results bookkeeping: start a run, collect each node's
// tarball into results/<run-id>/<node>/, keeping run.json's verdict current.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitError, parseCli, runMain } from './lib/cli.js';
import { exec } from './lib/exec.js';
import { formatNodeResults } from './lib/report/format-results.js';
import { latestPerNode, nodeResults } from './lib/results/latest-per-node.js';
import { writeFileAtomic } from './lib/atomic-write.js';
import { RUN_ID_FILE_ENV } from './lib/run-control/interrupted-run.js';
import { checkRunArguments } from './lib/run-control/run-arguments.js';
import { formatLost, lostNode, parseProbes } from './lib/results/lost-node.js';
import { collectNode, latestRun, markLost, readRun, startRun } from './lib/results/run-store.js';
import { readSuiteResults } from './lib/suites/result-file.js';
import { anyFailed, formatFailures, formatNodeTable, type NodeSuites } from './lib/suites/table.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, resultsDir } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-results start [--extra-vars FILE] [--suites LIST] [--tags LIST]
       vllm-results collect --results-dir DIR --run-id ID --node NAME --tarball FILE
       vllm-results lost [--extra-vars FILE] --run-id ID --probes JSON
       vllm-results show [--json] [--extra-vars FILE]
       vllm-results suites [--extra-vars FILE] [--run-id ID] [--json]

start    checks the run's arguments (--suites: SUITES=, --tags: the playbook's tags), then creates
         results/<run-id>/run.json for the configured nodes and prints the run id
collect  unpacks a node's results tarball into results/<run-id>/<node>/ and updates the verdict
lost     records each node the run lost (Ansible found it unreachable, so its results never came)
         as failed, with Ansible's message and its last log lines, read by the probe whose loop
         results --probes holds; prints them, then a {"changed": ...} report line
show     each node's newest run: steps, smoke test, every suite case and benchmark figure
suites   a table of every suite case per node of the run (default: the latest), then each failed
         case with its result file; exit 3 when a case failed`;

/** Exit code of suites when a case failed. */
const CASES_FAILED = 3;

async function gitRevision(cwd: string): Promise<string> {
  const out = await exec('git', ['rev-parse', 'HEAD'], { cwd }).catch(() => null);
  return out?.exitCode === 0 ? out.stdout.trim() : 'unknown';
}

async function main(): Promise<void> {
  const { values, positionals } = parseCli(USAGE, {
    'extra-vars': { type: 'string' }, 'results-dir': { type: 'string' }, 'run-id': { type: 'string' },
    node: { type: 'string' }, tarball: { type: 'string' }, json: { type: 'boolean' }, suites: { type: 'string' }, tags: { type: 'string' }, probes: { type: 'string' },
  });
  switch (positionals[0]) {
    case 'start': {
      const path = values['extra-vars'] ?? DEFAULT_EXTRA_VARS;
      // make validated the file when it wrote it.
      const config = await loadAllNodes(path, { validate: false });
      checkRunArguments(config.vars, { suites: values.suites, tags: values.tags });
      const configHash = createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
      const run = await startRun(resultsDir(config), {
        configHash, gitRevision: await gitRevision(config.topdir), target: config.vars.vllm_target, nodes: config.nodes.map((n) => n.node.name),
      });
      // vllm-playbook's way to learn the run it runs, to record it should the command be interrupted.
      if (process.env[RUN_ID_FILE_ENV]) await writeFileAtomic(process.env[RUN_ID_FILE_ENV], `${run.run_id}\n`);
      console.log(run.run_id);
      return;
    }
    case 'collect': {
      const { 'results-dir': dir, 'run-id': runId, node, tarball } = values;
      if (!dir || !runId || !node || !tarball) throw new Error(`collect needs --results-dir, --run-id, --node and --tarball\n\n${USAGE}`);
      const run = await collectNode(dir, runId, node, tarball);
      const summary = run.nodes[node];
      console.log(`${node}: ${summary?.verdict} (${Object.entries(summary?.steps ?? {}).map(([s, v]) => `${s} ${v}`).join(', ')}) -> ${join(dir, runId, node)}`);
      return;
    }
    case 'lost': {
      const { 'run-id': runId, probes } = values;
      if (!runId || probes === undefined) throw new Error(`lost needs --run-id and --probes\n\n${USAGE}`);
      const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS, { validate: false });
      const dir = resultsDir(config);
      let changed = false;
      for (const probe of parseProbes(probes)) {
        const node = config.nodes.find((n) => n.node.name === probe.item);
        if (!node) throw new Error(`--probes names "${probe.item}", which is not a node of ${values['extra-vars'] ?? DEFAULT_EXTRA_VARS}`);
        const lost = lostNode(probe, join(node.node.workDir, 'logs'));
        if (await markLost(dir, runId, probe.item, lost)) {
          changed = true;
          console.log(formatLost(probe.item, lost).join('\n'));
        }
      }
      console.log(JSON.stringify({ changed }));
      return;
    }
    case 'show': {
      const dir = resultsDir(await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS));
      const latest = await latestPerNode(dir);
      if (latest.size === 0) throw new Error(`no results in ${dir} yet; run make vllm first`);
      const all = await Promise.all([...latest].map(([node, runId]) => nodeResults(dir, node, runId)));
      console.log(values.json ? JSON.stringify({ results_dir: dir, nodes: all }, null, 2) : all.map(formatNodeResults).join('\n\n'));
      return;
    }
    case 'suites': {
      const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
      const dir = resultsDir(config);
      const run = values['run-id'] ? await readRun(dir, values['run-id']) : await latestRun(dir);
      if (!run) throw new Error(`no run in ${dir} yet; run make vllm first`);
      const nodes: NodeSuites[] = [];
      for (const [node, summary] of Object.entries(run.nodes)) {
        nodes.push({ node, ...(await readSuiteResults(join(dir, run.run_id, node))), ...(summary.lost ? { lost: summary.lost.reason } : {}) });
      }
      if (values.json) {
        console.log(JSON.stringify({ run_id: run.run_id, nodes: nodes.map((n) => ({ node: n.node, suites: n.results, ...(n.lost ? { lost: n.lost } : {}) })) }, null, 2));
      } else if (nodes.every((n) => n.results.length === 0 && !n.lost)) {
        console.log(`run ${run.run_id}: no suite ran`);
      } else {
        const width = process.stdout.columns ?? 160;
        for (const n of nodes) console.log(formatNodeTable(n, width).join('\n'));
      }
      const failures = formatFailures(nodes);
      if (anyFailed(nodes)) throw new ExitError(`run ${run.run_id}: ${failures.length} case(s) failed\n${failures.join('\n')}`, CASES_FAILED);
      return;
    }
    default:
      throw new Error(`${positionals[0] === undefined ? 'no command given' : `unknown command "${positionals[0]}"`}\n\n${USAGE}`);
  }
}

runMain(main);
