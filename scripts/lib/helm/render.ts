// One node's Helm values and manifests, as make vllm-render shows them and
// the deploy installs them: generated, checked against the chart (names,
// schema, known keys), written to <work dir>/<node>/helm/, and rendered with
// helm template when helm is there. Nothing here talks to a cluster.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../atomic-write.js';
import { installArgs, templateArgs, type ClusterAccess } from './commands.js';
import { nameProblems, type ReleaseNames } from './names.js';
import { describeValuesProblem, validateValues, valueAt, type ChartDefinition } from './validate-values.js';
import { helmValues, nodeReleaseNames, type HelmConfigVars, type HelmNode, type SecretPresence, type Values } from './values.js';

export interface RenderedNode {
  node: string;
  names: ReleaseNames;
  values: Values;
  valuesFile: string;
  /** null when helm is not installed. */
  manifestsFile: string | null;
  chartDir: string;
  installArgv: string[];
}

/** Seconds helm waits for the Deployments: the simulator starts at once, vLLM downloads and loads a model first. */
export function deployTimeoutSeconds(v: Pick<HelmConfigVars, 'vllm_engine' | 'vllm_use_cpu_inference' | 'vllm_deploy_timeout'>): number {
  if (v.vllm_deploy_timeout) return v.vllm_deploy_timeout;
  if (v.vllm_engine === 'sim') return 300;
  return v.vllm_use_cpu_inference ? 1200 : 1800;
}

/** Combinations the chart cannot carry out, named by symbol. */
export function kubeConfigProblems(v: HelmConfigVars): string[] {
  const problems: string[] = [];
  if (v.vllm_autoscaling_enabled && !v.vllm_observability_enabled) {
    problems.push('CONFIG_VLLM_AUTOSCALING_ENABLED=y needs CONFIG_VLLM_OBSERVABILITY_ENABLED=y on Kubernetes: KEDA scales on the engines\' vllm:num_requests_waiting as Prometheus reports it');
  }
  return problems;
}

/** Values for a node, checked; throws one message listing every problem, each naming its CONFIG_ symbol. */
export function checkedValues(v: HelmConfigVars, node: HelmNode, secrets: SecretPresence, chart: ChartDefinition | null, observability: Values | null = null): { names: ReleaseNames; values: Values } {
  const names = nodeReleaseNames(v, node);
  const problems = [
    ...kubeConfigProblems(v),
    ...nameProblems(names).map((p) => `CONFIG_VLLM_HELM_RELEASE_NAME="${v.vllm_helm_release_name}" (or CONFIG_VLLM_MODEL_URL): ${p}`),
  ];
  const values = helmValues(v, node, secrets, observability);
  if (chart) problems.push(...validateValues(values, chart, node).map((p) => describeValuesProblem(p, node.name, valueAt(values, p.path))));
  if (problems.length > 0) throw new Error(`the Helm values of ${node.name} are not valid for the chart:\n${problems.map((p) => `  ${p}`).join('\n')}\nFix .config (make menuconfig) and try again.`);
  return { names, values };
}

/** Writes a node's values to <work dir>/<node>/helm/values.yaml; returns the path. */
export async function writeValues(node: HelmNode & { workDir: string }, names: ReleaseNames, values: Values): Promise<string> {
  const dir = join(node.workDir, 'helm');
  await mkdir(dir, { recursive: true });
  const valuesFile = join(dir, 'values.yaml');
  await writeFileAtomic(valuesFile, `# Helm values of ${node.name} (release ${names.release}), generated from .config by the harness; secrets are only named.\n${stringify(values)}`);
  return valuesFile;
}

export async function renderNode(opts: {
  vars: HelmConfigVars;
  node: HelmNode & { workDir: string };
  secrets: SecretPresence;
  observability: Values | null;
  chartDir: string;
  chart: ChartDefinition;
  helm: string | null;
  access: ClusterAccess;
}): Promise<RenderedNode> {
  const { vars, node, chartDir, helm } = opts;
  const { names, values } = checkedValues(vars, node, opts.secrets, opts.chart, opts.observability);
  const valuesFile = await writeValues(node, names, values);
  const dir = join(node.workDir, 'helm');
  let manifestsFile: string | null = null;
  if (helm) {
    const out = await $({ quiet: true, nothrow: true })`${helm} ${templateArgs(names, chartDir, valuesFile)}`;
    if (out.exitCode !== 0) throw new Error(`helm template failed for ${node.name} (chart ${chartDir}):\n${out.stderr.trim()}`);
    manifestsFile = join(dir, 'manifests.yaml');
    await writeFileAtomic(manifestsFile, out.stdout);
  }
  return { node: node.name, names, values, valuesFile, manifestsFile, chartDir, installArgv: ['helm', ...installArgs(names, chartDir, valuesFile, deployTimeoutSeconds(vars), opts.access)] };
}
