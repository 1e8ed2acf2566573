#!/usr/bin/env node
// make vllm-render: what a Kubernetes deploy would install, touching no cluster.
import { dirname } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { chartSource, findHelm, loadChart, resolveChart } from './lib/helm/chart.js';
import { shellLine } from './lib/helm/commands.js';
import { observabilityValues } from './lib/helm/observability-input.js';
import { checkedValues, renderNode, writeValues } from './lib/helm/render.js';
import { clusterAccess } from './lib/targets/kube/access.js';
import { loadAllNodes } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-render [--extra-vars FILE] [--json]

For every node of a Kubernetes configuration, writes the Helm values the deploy
would install to <work dir>/<node>/helm/values.yaml and, when helm is installed,
the manifests the production-stack chart renders from them (manifests.yaml);
checks the values against the chart first. Touches no cluster.
The chart: VLLM_PROD_STACK_CHART_PATH (environment) or CONFIG_VLLM_PROD_STACK_CHART_PATH,
else the pinned version pulled from CONFIG_VLLM_PROD_STACK_CHART_REPO.
options:
  --extra-vars FILE   configuration (default: extra_vars.yaml here)
  --json              paths and command lines as JSON`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { 'extra-vars': { type: 'string' }, json: { type: 'boolean' } });
  const config = await loadAllNodes(values['extra-vars']);
  const { vars, topdir } = config;
  if (vars.vllm_target === 'local') {
    console.log('CONFIG_VLLM_TARGET is "local": no Helm chart is deployed, so there is nothing to render (make vllm starts processes on this machine).');
    return;
  }
  const helm = await findHelm(topdir);
  const source = chartSource(vars, topdir);
  const first = config.nodes[0];
  const inputs = await Promise.all(config.nodes.map(async ({ node, spec, apiKey, hfToken }) => ({
    node, secrets: { apiKey: apiKey !== undefined, hfToken: hfToken !== undefined }, observability: await observabilityValues(node, spec),
  })));
  let chartDir: string;
  try {
    chartDir = await resolveChart(source, helm, `${dirname(first?.node.workDir ?? `${topdir}/work/x`)}/charts`);
  } catch (err) {
    // The values come from the configuration alone: write them, so they can be read and
    // diffed offline, then fail, since nothing checked them against the chart or rendered them.
    for (const { node, secrets, observability } of inputs) {
      const { names, values: nodeValues } = checkedValues(vars, node, secrets, null, observability);
      console.log(`${node.name} (release ${names.release}, namespace ${names.namespace})`);
      console.log(`  values:    ${await writeValues(node, names, nodeValues)} (not checked against the chart)`);
      console.log('  manifests: not rendered: the chart is not available (below)');
    }
    throw err;
  }
  const chart = await loadChart(chartDir);
  const access = clusterAccess(vars);
  const rendered = [];
  for (const { node, secrets, observability } of inputs) rendered.push(await renderNode({ vars, node, secrets, observability, chartDir, chart, helm, access }));
  if (values.json) {
    console.log(JSON.stringify(rendered.map((r) => ({ node: r.node, release: r.names.release, namespace: r.names.namespace, values: r.valuesFile, manifests: r.manifestsFile, chart: r.chartDir, install: r.installArgv })), null, 2));
    return;
  }
  for (const r of rendered) {
    console.log(`${r.node} (release ${r.names.release}, namespace ${r.names.namespace}, chart ${chart.version} from ${r.chartDir})`);
    console.log(`  values:    ${r.valuesFile}`);
    console.log(`  manifests: ${r.manifestsFile ?? 'not rendered: helm is not installed (make deps extracts it; make bringup installs it on nodes)'}`);
    console.log(`  deploy:    ${shellLine(r.installArgv)}`);
  }
}

runMain(main);
