#!/usr/bin/env node
// Node-side tool: what Ansible runs on each node (baseline, dev) for bring-up
// checks, deploy, smoke test, packing results, teardown and cleanup.
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { stringify } from 'yaml';
import { parseCli, runMain } from './lib/cli.js';
import { writeFileAtomic, writeJsonAtomic } from './lib/results/atomic-write.js';
import { nodeRunDir, recordStep } from './lib/results/node-run.js';
import { formatQuickTest, quickTest } from './lib/smoke/quick-test.js';
import { loadNode } from './lib/stack/load-node.js';
import { LocalStack } from './lib/stack/local-stack.js';
import { snapshotSources } from './lib/observability/snapshot-sources.js';
import { takeSnapshot } from './lib/observability/metrics-snapshot.js';
import { checkNode } from './lib/stack/node-check.js';
import { systemInfo } from './lib/results/system-info.js';
import { formatFull } from './lib/status/format-status.js';
import { localNodeStatus } from './lib/status/collect-status.js';

const USAGE = `usage: vllm-node <command> --node NAME [--extra-vars FILE] [--run-id ID] [--json]

Runs on a node of the inventory (Ansible calls it; you can too).
commands:
  check      tools present, work dir writable, ports free (or held by this node's own stack)
  deploy     stop what ran before, start engines, router and Prometheus, wait until they serve
  smoke      one completion and one streamed chat through the router, timed; exit 1 when malformed
  snapshot   the key metrics series of the run into metrics.json (from Prometheus, else the /metrics pages)
  pack       put logs with the run's records and tar them; prints the tarball's path last
  teardown   stop every process of this node; logs and results stay
  cleanup    teardown, then remove the node's work dir
  status     this node's live state (--json for scripts)
options:
  --node NAME         inventory hostname (vllm-baseline, vllm-dev)
  --extra-vars FILE   configuration (default: extra_vars.yaml in the project directory)
  --run-id ID         record the step under <work dir>/runs/ID for the controller to collect
  --json              machine-readable output (status)`;

async function main(): Promise<void> {
  const { values, positionals } = parseCli(USAGE, {
    node: { type: 'string' }, 'extra-vars': { type: 'string' }, 'run-id': { type: 'string' }, json: { type: 'boolean' },
  });
  const command = positionals[0];
  if (!command) throw new Error(`no command given\n\n${USAGE}`);
  if (!values.node) throw new Error('--node NAME is required (the inventory hostname, e.g. vllm-baseline)');
  const { vars, node, spec, apiKey } = await loadNode(values.node, values['extra-vars']);
  const runId = values['run-id'];
  const runDir = runId ? nodeRunDir(spec.workDir, runId) : null;
  const progress = (line: string) => console.log(line);

  switch (command) {
    case 'check': {
      const lines = await checkNode(spec);
      for (const l of lines) console.log(l);
      return;
    }
    case 'deploy': {
      const deploy = async () => {
        const started = performance.now();
        const stack = await LocalStack.deploy(spec, progress);
        const engines = await stack.engines();
        return { router_url: stack.routerUrl, engines, deploy_seconds: (performance.now() - started) / 1000 };
      };
      if (!runDir) {
        await deploy();
        return;
      }
      await writeFileAtomic(join(runDir, 'config.yaml'), stringify({ node, vars }));
      await writeJsonAtomic(join(runDir, 'system.json'), await systemInfo());
      const result = await recordStep(runDir, 'deploy', deploy);
      await writeJsonAtomic(join(runDir, 'deploy.json'), result);
      return;
    }
    case 'smoke': {
      const smoke = async () => {
        const stack = await LocalStack.attach(spec);
        if (!stack) throw new Error(`node ${node.name} has nothing deployed; run make vllm first`);
        const result = await quickTest(stack.routerUrl, spec.engine.servedModelName, apiKey);
        console.log(formatQuickTest(node.name, result));
        if (runDir) await writeJsonAtomic(join(runDir, 'smoke.json'), result);
        if (!result.passed) throw new Error(`node ${node.name}: the smoke test failed (see above); logs are in ${join(spec.workDir, 'logs')}`);
      };
      await (runDir ? recordStep(runDir, 'smoke', smoke) : smoke());
      return;
    }
    case 'snapshot': {
      if (!runDir) throw new Error('snapshot needs --run-id');
      const stack = await LocalStack.attach(spec);
      if (!stack) {
        console.log(`${node.name}: nothing deployed, so no metrics snapshot`);
        return;
      }
      // A failed snapshot is recorded in the run's verdict; the exit stays 0 so that
      // packing the results, which Ansible runs next, still happens.
      await recordStep(runDir, 'metrics', async () => {
        const snapshot = await takeSnapshot(await snapshotSources(stack));
        await writeJsonAtomic(join(runDir, 'metrics.json'), snapshot);
        console.log(`${node.name}: metrics snapshot: ${snapshot.source === 'prometheus' ? `${snapshot.series.length} series from Prometheus, ` : ''}${snapshot.pages.filter((p) => p.error === null).length} /metrics pages${snapshot.problems.length > 0 ? ` (${snapshot.problems.join('; ')})` : ''}`);
      }).catch((err: Error) => console.error(`${node.name}: no metrics snapshot: ${err.message}`));
      return;
    }
    case 'pack': {
      if (!runDir || !runId) throw new Error('pack needs --run-id');
      await mkdir(runDir, { recursive: true });
      const logs = join(spec.workDir, 'logs');
      if (await stat(logs).catch(() => null)) await cp(logs, join(runDir, 'logs'), { recursive: true });
      const tarball = join(spec.workDir, 'runs', `${runId}.tar.gz`);
      await $({ quiet: true })`tar -czf ${tarball} -C ${runDir} .`;
      console.log(tarball);
      return;
    }
    case 'teardown': {
      const stopped = await LocalStack.stopAll(spec);
      console.log(`${node.name}: ${stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'}`);
      return;
    }
    case 'cleanup': {
      const stopped = await LocalStack.stopAll(spec);
      await rm(spec.workDir, { recursive: true, force: true });
      console.log(`${node.name}: ${stopped.length > 0 ? `stopped ${stopped.join(', ')}, ` : ''}removed ${spec.workDir}`);
      return;
    }
    case 'status': {
      const status = await localNodeStatus(spec, vars.vllm_target);
      console.log(values.json ? JSON.stringify(status, null, 2) : formatFull({ generated_at: new Date().toISOString(), target: vars.vllm_target, ab: vars.vllm_baseline_and_dev, nodes: [status], last_run: null, hints: [] }));
      return;
    }
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

runMain(main);
