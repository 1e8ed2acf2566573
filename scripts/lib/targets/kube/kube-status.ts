// A Kubernetes node's live state, read from the cluster: its Helm release,
// pods ready/total per Deployment, images, the router Service, recent warning
// events, who holds the release's lock, and what to do next; in full, each
// pod with its restarts and each engine's own load (its /metrics through a
// port-forward). Kept apart from the local target's status.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { $ } from 'zx';
import { findHelm } from '../../helm/chart.js';
import { statusArgs } from '../../helm/commands.js';
import { nodeReleaseNames } from '../../helm/values.js';
import { clusterAccess, kubeClient, loadKubeConfig } from './access.js';
import { clients } from './cluster.js';
import { leaseDecision, leaseName, leaseTiming, thisHolder } from './release-lease.js';
import type { LoadedNode } from '../../stack/load-node.js';
import { ENGINE_COUNTERS } from '../../vocabulary/engine-counters.js';
import { sumMetric } from '../../vocabulary/prometheus-text.js';
import { POD_PORT, podReady, selector } from './kube-stack.js';
import { ManagedForward } from './port-forward.js';

export interface KubePodStatus {
  name: string;
  /** The chart's environment label: engine, router, or another part. */
  role: string;
  phase: string;
  ready: boolean;
  restarts: number;
  ip: string | null;
  /** A ready engine's own gauges, from its /metrics; null for other pods or when it did not answer. */
  engine: { running: number | null; waiting: number | null; kv_cache_usage_perc: number | null } | null;
}

export interface KubeNodeStatus {
  node: string;
  release: string;
  namespace: string;
  /** deployed, failed, pending-install..., or "not installed" / "unknown: why". */
  helm: string;
  deployments: { name: string; ready: number; wanted: number; images: string[] }[];
  router_service: string | null;
  warnings: string[];
  /** The release's Lease (release-lease.ts) when someone holds it: this project, or another one. */
  lock: { holder: string; mine: boolean; renewed_s_ago: number; free_in_s: number } | null;
  state: 'ready' | 'degraded' | 'deploying' | 'down';
  /** Every pod of the release, in the full status only (empty in the simplified one). */
  pods: KubePodStatus[];
  hints: string[];
  error?: string;
}

const MAX_WARNINGS = 5;
/** Bound of each engine's /metrics read: status answers in seconds even when an engine hangs. */
const METRICS_TIMEOUT_MS = 3_000;

async function engineGauges(kc: KubeConfig, namespace: string, pod: string): Promise<KubePodStatus['engine']> {
  const forward = await new ManagedForward(kc, namespace, async () => pod, POD_PORT, `engine ${pod}`).start();
  try {
    const res = await fetch(`${forward.url}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS), headers: { connection: 'close' } });
    const text = await res.text();
    if (!res.ok) return null;
    return { running: sumMetric(text, ...ENGINE_COUNTERS.running), waiting: sumMetric(text, ...ENGINE_COUNTERS.waiting), kv_cache_usage_perc: sumMetric(text, ...ENGINE_COUNTERS.kvCacheUsage) };
  } catch {
    return null;
  } finally {
    await forward.close();
  }
}

async function podStatus(kc: KubeConfig, namespace: string, pod: V1Pod): Promise<KubePodStatus> {
  const name = pod.metadata?.name ?? '';
  const role = pod.metadata?.labels?.environment ?? 'other';
  const ready = podReady(pod);
  return {
    name, role, phase: pod.metadata?.deletionTimestamp ? 'Terminating' : pod.status?.phase ?? 'Unknown', ready,
    restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    ip: pod.status?.podIP ?? null,
    engine: role === 'engine' && ready ? await engineGauges(kc, namespace, name) : null,
  };
}

/** detail: also every pod, with each ready engine's gauges (the full status; the simplified one skips it). */
export async function kubeNodeStatus(ctx: LoadedNode & { topdir: string }, detail = false): Promise<KubeNodeStatus> {
  const names = nodeReleaseNames(ctx.vars, ctx.node);
  const access = clusterAccess(ctx.vars);
  const base: KubeNodeStatus = { node: ctx.node.name, release: names.release, namespace: names.namespace, helm: 'unknown', deployments: [], router_service: null, warnings: [], lock: null, state: 'down', pods: [], hints: [] };
  const helm = await findHelm(ctx.topdir);
  if (helm) {
    const out = await $({ quiet: true, nothrow: true })`${helm} ${statusArgs(names, access)}`;
    base.helm = out.exitCode === 0 ? (JSON.parse(out.stdout) as { info?: { status?: string } }).info?.status ?? 'unknown' : /not found/.test(out.stderr) ? 'not installed' : `unknown: ${out.stderr.trim().split('\n')[0]}`;
  }
  try {
    const kc = await loadKubeConfig(access);
    const c = await clients(kc);
    const k8s = await kubeClient();
    const lease = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: leaseName(names.release), namespace: names.namespace }).catch(() => null);
    const now = Date.now();
    const decision = leaseDecision(lease?.spec ?? null, thisHolder(ctx.topdir, ''), now);
    const timing = lease?.spec ? leaseTiming(lease.spec, now) : null;
    if (decision.kind === 'busy') {
      const h = decision.holder;
      base.lock = { holder: `${h.user}@${h.host} (project ${h.project}): "${h.command}" (pid ${h.pid})`, mine: false, renewed_s_ago: decision.renewedAgoS, free_in_s: decision.freeInS };
    } else if (decision.kind === 'mine' && timing && timing.freeInS > 0) {
      base.lock = { holder: 'this project', mine: true, renewed_s_ago: timing.renewedAgoS, free_in_s: timing.freeInS };
    }
    const deployments = await c.apps.listNamespacedDeployment({ namespace: names.namespace, labelSelector: `app.kubernetes.io/instance=${names.release}` });
    base.deployments = deployments.items.map((d) => ({
      name: d.metadata?.name ?? '', ready: d.status?.readyReplicas ?? 0, wanted: d.spec?.replicas ?? 0,
      images: (d.spec?.template.spec?.containers ?? []).map((x) => x.image ?? ''),
    })).sort((a, b) => a.name.localeCompare(b.name));
    const service = await c.core.readNamespacedService({ name: names.routerService, namespace: names.namespace }).catch(() => null);
    base.router_service = service ? `${names.routerService} ${service.spec?.type ?? ''} ${service.spec?.clusterIP ?? ''}:${service.spec?.ports?.[0]?.port ?? ''}` : null;
    const events = await c.core.listNamespacedEvent({ namespace: names.namespace });
    base.warnings = events.items.filter((e) => e.type === 'Warning' && (e.involvedObject?.name ?? '').startsWith(names.release))
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
      .slice(-MAX_WARNINGS).map((e) => `${e.involvedObject?.name}: ${e.reason}: ${e.message}`);
    if (detail) {
      const pods = await c.core.listNamespacedPod({ namespace: names.namespace, labelSelector: selector({ release: names.release }) });
      const sorted = pods.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      base.pods = await Promise.all(sorted.map((pod) => podStatus(kc, names.namespace, pod)));
    }
  } catch (err) {
    base.error = (err as Error).message.split('\n')[0];
  }
  const all = base.deployments.length > 0 && base.deployments.every((d) => d.ready >= d.wanted && d.wanted > 0);
  base.state = base.deployments.length === 0 ? 'down' : all ? 'ready' : base.helm.startsWith('pending') ? 'deploying' : 'degraded';
  if (base.lock && !base.lock.mine) base.hints.push(`another project holds this release for ${base.lock.free_in_s} s more: your commands on it are refused until then (or use your own CONFIG_VLLM_HELM_RELEASE_NAME or CONFIG_VLLM_HELM_NAMESPACE)`);
  if (base.error) base.hints.push(`the cluster did not answer (${base.error}): check CONFIG_VLLM_KUBECONFIG / CONFIG_VLLM_K8S_CONTEXT, or minikube status`);
  else if (base.state === 'down') base.hints.push('nothing deployed: make vllm');
  else if (base.state === 'degraded') base.hints.push(`pods not ready: kubectl -n ${names.namespace} get pods -l app.kubernetes.io/instance=${names.release}; kubectl -n ${names.namespace} describe pod <name>`);
  else if (base.state === 'ready') base.hints.push('make vllm-quick-test, or make vllm-monitor for Grafana and Prometheus');
  return base;
}

const num = (v: number | null) => (v === null ? '-' : String(Math.round(v)));

function podLine(p: KubePodStatus): string {
  const load = p.engine ? `  running ${num(p.engine.running)} waiting ${num(p.engine.waiting)} kv ${p.engine.kv_cache_usage_perc === null ? '-' : `${(p.engine.kv_cache_usage_perc * 100).toFixed(1)}%`}` : '';
  return `     ${p.role.padEnd(7)} ${p.name}  ${p.phase}${p.ready ? ', ready' : ''}  restarts ${p.restarts}  ${p.ip ?? 'no IP'}${load}`;
}

export function formatKubeStatus(s: KubeNodeStatus): string {
  const icon = { ready: '✅', degraded: '⚠️ ', deploying: '⏳', down: '⛔' }[s.state];
  const lines = [`${icon} ${s.node}: ${s.state} (release ${s.release} in ${s.namespace}, helm: ${s.helm})`];
  for (const d of s.deployments) lines.push(`   ${d.ready}/${d.wanted} ready  ${d.name}  ${d.images.join(', ')}`);
  if (s.pods.length > 0) lines.push('   pods:', ...s.pods.map(podLine));
  if (s.router_service) lines.push(`   router service ${s.router_service}`);
  if (s.lock) lines.push(`   🔒 ${s.lock.mine ? 'held by this project' : `in use by ${s.lock.holder}`}, renewed ${s.lock.renewed_s_ago} s ago, free in ${s.lock.free_in_s} s`);
  for (const w of s.warnings) lines.push(`   ⚠️  ${w}`);
  for (const h of s.hints) lines.push(`   → ${h}`);
  return lines.join('\n');
}

/** make vllm-status on a Kubernetes configuration: every node's release read live, and the last run. */
export async function kubeStatusReport(nodes: LoadedNode[], topdir: string, lastRun: { run_id: string; verdict: string; path: string } | null, json: boolean, simplified: boolean): Promise<string> {
  const statuses = await Promise.all(nodes.map((n) => kubeNodeStatus({ ...n, topdir }, !simplified)));
  if (json) return JSON.stringify({ generated_at: new Date().toISOString(), target: nodes[0]?.vars.vllm_target, nodes: statuses, last_run: lastRun }, null, 2);
  return [...statuses.map(formatKubeStatus), lastRun ? `last run ${lastRun.run_id}: ${lastRun.verdict} (${lastRun.path})` : 'no run yet: make vllm'].join('\n');
}
