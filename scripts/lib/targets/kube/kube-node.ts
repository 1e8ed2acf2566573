// A Kubernetes node's side of vllm-node: deploy (values checked, Secrets,
// helm upgrade --install with progress, a failure report), the KubeStack the
// smoke test and suites use, and teardown. One release per node.
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { writeFileAtomic } from '../../atomic-write.js';
import { chartSource, findHelm, loadChart, resolveChart } from '../../helm/chart.js';
import { shellLine } from '../../helm/commands.js';
import { observabilityValues } from '../../helm/observability-input.js';
import { renderNode, type RenderedNode } from '../../helm/render.js';
import { configuredImageNames } from '../../images/plan.js';
import { nodeReleaseNames } from '../../helm/values.js';
import { clusterAccess, loadKubeConfig } from './access.js';
import { applySecrets, clients, ensureGrafanaAdmin, ensureNamespace, failureReport, formatProgress, releaseProgress } from './cluster.js';
import { holdReleaseLease, thisHolder } from './release-lease.js';
import type { LoadedNode } from '../../stack/load-node.js';
import { KubeStack } from './kube-stack.js';
import { waitLoraAdapters } from './lora-adapters.js';
import { checkRendered } from './rendered-check.js';

export interface KubeNodeContext extends LoadedNode {
  topdir: string;
}

const PROGRESS_EVERY_MS = 5_000;

/** What to do when the cluster has too little room, by target. */
export function sizeHint(vars: { vllm_target: string }): string {
  return vars.vllm_target === 'minikube'
    ? 'give minikube more: CONFIG_VLLM_MINIKUBE_CPUS / CONFIG_VLLM_MINIKUBE_MEMORY (then minikube delete and make bringup)'
    : 'free room in the cluster or add nodes';
}

/**
 * The rendered releases (this node's, and with A/B at bring-up the other node's, which share the
 * cluster) against the cluster: kinds served, pods schedulable, this project's images there.
 * Throws naming each problem and the setting to change.
 */
export async function checkRenderedNodes(ctx: KubeNodeContext, rendered: { node: LoadedNode['node']; release: RenderedNode }[]): Promise<string[]> {
  const manifests = rendered.flatMap(({ release: r }) => (r.manifestsFile ? [{ names: r.names, manifestsFile: r.manifestsFile, chartDir: r.chartDir }] : []));
  if (manifests.length === 0) return ['⚠️  helm is not installed: the rendered release is not checked against the cluster'];
  const kc = await loadKubeConfig(clusterAccess(ctx.vars));
  const images = configuredImageNames(ctx.vars, rendered.map((r) => r.node));
  const { lines, problems } = await checkRendered(kc, manifests, sizeHint(ctx.vars), { images, target: ctx.vars.vllm_target });
  const what = manifests.map((m) => m.names.release).join(' and ');
  if (problems.length > 0) throw new Error(`${manifests.length > 1 ? 'releases' : 'release'} ${what} cannot run on this cluster as configured:\n${problems.map((p) => `  ❌ ${p}`).join('\n')}\n${lines.map((l) => `  ${l}`).join('\n')}`);
  return lines;
}

/**
 * Runs a node step holding its release's Lease on the cluster (release-lease.ts):
 * refused while another project holds it. Deploy creates the namespace the
 * lease lives in; teardown and cleanup that succeed free the lease.
 */
export async function withReleaseLease<T>(ctx: KubeNodeContext, command: string, label: string, fn: () => Promise<T>, warn: (line: string) => void): Promise<T> {
  const names = nodeReleaseNames(ctx.vars, ctx.node);
  const kc = await loadKubeConfig(clusterAccess(ctx.vars));
  const lease = await holdReleaseLease(kc, names.namespace, names.release, thisHolder(ctx.topdir, label), {
    createNamespace: command === 'deploy' ? async () => ensureNamespace(await clients(kc), names.namespace) : undefined,
    warn,
  });
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    if (ok && (command === 'teardown' || command === 'cleanup')) await lease.release();
    else await lease.stop();
  }
}

async function helmBinary(topdir: string): Promise<string> {
  const helm = await findHelm(topdir);
  if (!helm) throw new Error('helm is not installed on this node: make bringup installs the pinned release (CONFIG_VLLM_HELM_VERSION)');
  return helm;
}

/** The node's values and manifests under <work dir>/helm/, checked against the chart the deploy installs. */
export async function renderKubeNode(ctx: KubeNodeContext): Promise<RenderedNode> {
  const helm = await helmBinary(ctx.topdir);
  const chartDir = await resolveChart(chartSource(ctx.vars, ctx.topdir), helm, join(ctx.node.workDir, '..', 'charts'));
  return renderNode({
    vars: ctx.vars, node: ctx.node, secrets: { apiKey: ctx.apiKey !== undefined, hfToken: ctx.hfToken !== undefined },
    observability: await observabilityValues(ctx.node, ctx.spec), chartDir, chart: await loadChart(chartDir), helm, access: clusterAccess(ctx.vars),
  });
}

export async function kubeDeploy(ctx: KubeNodeContext, progress: (line: string) => void, runDir: string | null): Promise<Record<string, unknown>> {
  const started = performance.now();
  const rendered = await renderKubeNode(ctx);
  const { names } = rendered;
  // Caught here, not half-way through helm install or as pods Pending forever.
  for (const l of await checkRenderedNodes(ctx, [{ node: ctx.node, release: rendered }])) progress(l);
  const access = clusterAccess(ctx.vars);
  const kc = await loadKubeConfig(access);
  const c = await clients(kc);
  if (await ensureNamespace(c, names.namespace)) progress(`${names.release}: created namespace ${names.namespace}`);
  const stored = await applySecrets(c, names, { apiKey: ctx.apiKey, hfToken: ctx.hfToken });
  if (stored.length > 0) progress(`${names.release}: Secret ${names.secrets} holds ${stored.join(', ')}`);
  if (ctx.vars.vllm_observability_enabled && ctx.node.role === 'baseline') {
    await ensureGrafanaAdmin(c, names);
    progress(`${names.release}: Grafana's admin login (user vllm-admin) is in Secret ${names.grafanaAdmin}: kubectl -n ${names.namespace} get secret ${names.grafanaAdmin} -o jsonpath='{.data.admin-password}' | base64 -d`);
  }
  progress(`${names.release}: ${shellLine(rendered.installArgv)}`);
  const child = spawn(await helmBinary(ctx.topdir), rendered.installArgv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const timer = setInterval(() => {
    void releaseProgress(c, names).then((p) => progress(formatProgress(names.release, p)), () => undefined);
  }, PROGRESS_EVERY_MS);
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
  clearInterval(timer);
  if (code !== 0) {
    const report = await failureReport(c, names).catch((err: Error) => `(could not read the pods: ${err.message})`);
    if (runDir) await writeFileAtomic(join(runDir, 'logs', 'kube-failure.txt'), `${output}\n${report}\n`);
    throw new Error(`helm upgrade --install ${names.release} failed:\n${output.trim()}\n${report}${runDir ? `\n(saved in ${join(runDir, 'logs', 'kube-failure.txt')})` : ''}`);
  }
  progress(formatProgress(names.release, await releaseProgress(c, names)));
  if (ctx.vars.vllm_lora_enabled) await waitLoraAdapters(kc, names, progress);
  return { release: names.release, namespace: names.namespace, values: rendered.valuesFile, manifests: rendered.manifestsFile, deploy_seconds: (performance.now() - started) / 1000 };
}

export async function attachKubeStack(ctx: KubeNodeContext, progress?: (line: string) => void): Promise<KubeStack> {
  const access = clusterAccess(ctx.vars);
  return KubeStack.attach({
    kc: await loadKubeConfig(access),
    names: nodeReleaseNames(ctx.vars, ctx.node),
    servedModelName: ctx.spec.engine.servedModelName,
    routerEnabled: ctx.vars.vllm_router_enabled,
    autoscaled: ctx.vars.vllm_autoscaling_enabled,
    helm: await helmBinary(ctx.topdir),
    access,
    ...(progress ? { progress } : {}),
  });
}

/** helm uninstall and the harness's Secrets; the port-forwards are not even started. */
/** helm uninstall of the node's release; true when there was something to remove. */
export async function kubeTeardown(ctx: KubeNodeContext, progress: (line: string) => void): Promise<boolean> {
  const stack = await KubeStack.attach({
    kc: await loadKubeConfig(clusterAccess(ctx.vars)), names: nodeReleaseNames(ctx.vars, ctx.node), servedModelName: ctx.spec.engine.servedModelName,
    routerEnabled: false, autoscaled: ctx.vars.vllm_autoscaling_enabled, helm: await helmBinary(ctx.topdir), access: clusterAccess(ctx.vars), progress,
  });
  return stack.uninstall();
}
