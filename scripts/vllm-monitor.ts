#!/usr/bin/env node
// make vllm-monitor: where each node's Prometheus (and, on Kubernetes,
// Grafana) answers, checked live; exit 1 when one does not answer.
import { relative } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { DASHBOARDS_DIR, shippedDashboards } from './lib/observability/dashboards.js';
import { checkService, formatMonitor, localServices } from './lib/observability/monitor.js';
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
  let checks;
  let kubeLines: string[] = [];
  if (vars.vllm_target === 'local') {
    checks = await Promise.all(localServices(nodes.map(({ node, spec }) => ({ host: node.host, spec }))).map(checkService));
  } else {
    // Kubernetes: Prometheus and Grafana come with the baseline release; checked through port-forwards.
    const [{ nodeReleaseNames }, { clusterAccess, loadKubeConfig }, { kubeMonitorPlan, kubeMonitorServices }] = await Promise.all([
      import('./lib/helm/values.js'), import('./lib/targets/kube/access.js'), import('./lib/targets/kube/monitor-kube.js'),
    ]);
    const baseline = nodes.find((n) => n.node.role === 'baseline') ?? nodes[0];
    if (!baseline) throw new Error('no node in this configuration');
    const names = nodeReleaseNames(vars, baseline.node);
    const access = clusterAccess(vars);
    const plan = kubeMonitorPlan(names, access, { prometheus: vars.vllm_prometheus_port ?? 9090, grafana: vars.vllm_grafana_port ?? 3000 });
    const forwarded = await kubeMonitorServices(await loadKubeConfig(access), names, baseline.node.name);
    try {
      checks = await Promise.all(forwarded.services.map(checkService));
    } finally {
      await forwarded.close();
    }
    kubeLines = ['', 'To keep them at fixed local ports:', ...plan.commands.map((c) => `  ${c}`),
      `Grafana: http://127.0.0.1:${plan.grafanaPort}, user vllm-admin, password: kubectl -n ${names.namespace} get secret ${names.grafanaAdmin} -o jsonpath='{.data.admin-password}' | base64 -d`];
  }
  const dashboards = (await shippedDashboards()).map((d) => relative(process.cwd(), `${DASHBOARDS_DIR}${d.file}`));
  if (values.json) console.log(JSON.stringify({ generated_at: new Date().toISOString(), target: vars.vllm_target, services: checks, dashboards }, null, 2));
  else console.log([formatMonitor(checks, dashboards), ...kubeLines].join('\n'));
  const silent = checks.filter((c) => !c.ok);
  if (silent.length > 0) throw new Error(`${silent.map((c) => `${c.node} ${c.service}`).join(', ')} did not answer (see above)`);
}

runMain(main);
