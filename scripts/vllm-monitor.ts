#!/usr/bin/env node
// make vllm-monitor: where each node's Prometheus (and, on Kubernetes,
// Grafana) answers, checked live; exit 1 when one does not answer.
import { relative } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { DASHBOARDS_DIR, shippedDashboards } from './lib/observability/dashboards.js';
import { checkService, formatMonitor, localServices, type MonitoredService } from './lib/observability/monitor.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-monitor [--json] [--extra-vars FILE]

Prints the Prometheus address of every node and checks that it answers
(targets up, alerts firing). Exit 1 when one does not answer.
  --json   machine-readable report`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { json: { type: 'boolean' }, 'extra-vars': { type: 'string' } });
  const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const { vars, nodes } = config;
  if (!vars.vllm_observability_enabled) {
    throw new Error('observability is off (CONFIG_VLLM_OBSERVABILITY_ENABLED is not set): there is nothing to monitor; turn it on with make menuconfig, then make vllm');
  }
  let services: MonitoredService[];
  if (vars.vllm_target === 'local') {
    services = localServices(nodes.map(({ node, spec }) => ({ host: node.host, spec })));
  } else {
    throw new Error(`make vllm-monitor does not support the ${vars.vllm_target} target in this version yet (CONFIG_VLLM_TARGET_LOCAL works)`);
  }
  const checks = await Promise.all(services.map(checkService));
  const dashboards = (await shippedDashboards()).map((d) => relative(process.cwd(), `${DASHBOARDS_DIR}${d.file}`));
  if (values.json) console.log(JSON.stringify({ generated_at: new Date().toISOString(), target: vars.vllm_target, services: checks, dashboards }, null, 2));
  else console.log(formatMonitor(checks, dashboards));
  const silent = checks.filter((c) => !c.ok);
  if (silent.length > 0) throw new Error(`${silent.map((c) => `${c.node} ${c.service}`).join(', ')} did not answer (see above)`);
}

runMain(main);
