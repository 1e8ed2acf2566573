// The stack handle on Kubernetes: the chart's Deployments read and driven
// through @kubernetes/client-node (never kubectl's text). The router is
// reached where its Service says (router-address.ts: a port-forward, or a
// NodePort or load-balancer address), each engine through a managed
// port-forward, so suites and benchmarks on the node see URLs as on the
// local target.
import type { AppsV1Api, CoreV1Api, KubeConfig, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { $ } from 'zx';
import type { ClusterAccess } from '../../helm/commands.js';
import { statusArgs, uninstallArgs } from '../../helm/commands.js';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';
import type { EngineInfo, StackHandle } from '../../stack/stack-handle.js';
import type { EngineRole } from '../../vocabulary/node-plan.js';
import { ManagedForward } from './port-forward.js';
import { routerAddress } from './router-address.js';
import { releaseStuckLoraAdapters } from './stuck-lora-adapters.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** The chart's container port for engines and router. */
export const POD_PORT = 8000;

export interface KubeStackOptions {
  kc: KubeConfig;
  names: ReleaseNames;
  /** The model clients ask for (served name). */
  servedModelName: string;
  routerEnabled: boolean;
  /** KEDA owns the engine replica count (CONFIG_VLLM_AUTOSCALING_ENABLED). */
  autoscaled: boolean;
  /** helm binary and cluster access, for teardown. */
  helm: string;
  access: ClusterAccess;
  /** Bound of every wait for pods (scale, restart), ms. */
  waitTimeoutMs?: number;
  progress?: (line: string) => void;
}

export function podReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export const selector = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');

/** An engine pod's role, from its `model` label (its modelSpec's name): the prefill or decode modelSpec, else colocated. */
export function podRole(pod: V1Pod, names: ReleaseNames): EngineRole {
  const model = pod.metadata?.labels?.model;
  return model === names.pdModels.prefill ? 'prefill' : model === names.pdModels.decode ? 'decode' : 'colocated';
}

/** The release's engine Deployments (one, or a prefill and a decode one), by the engine labels the chart puts on each. */
export async function engineDeployments(apps: AppsV1Api, names: ReleaseNames): Promise<V1Deployment[]> {
  const list = await apps.listNamespacedDeployment({ namespace: names.namespace, labelSelector: selector(names.engineLabels) });
  return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

export class KubeStack implements StackHandle {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private router: ManagedForward | null = null;
  /** The router's NodePort or load-balancer URL, when its Service has one. */
  private routerDirect: string | null = null;
  private readonly engineForwards = new Map<string, ManagedForward>();
  private readonly waitTimeoutMs: number;
  private readonly progress: (line: string) => void;

  private constructor(private readonly o: KubeStackOptions, private readonly k8s: Awaited<ReturnType<typeof kubeClient>>) {
    this.core = o.kc.makeApiClient(k8s.CoreV1Api);
    this.apps = o.kc.makeApiClient(k8s.AppsV1Api);
    this.waitTimeoutMs = o.waitTimeoutMs ?? 600_000;
    this.progress = o.progress ?? (() => undefined);
  }

  /** Attaches to a deployed release: starts the router's port-forward and checks that the router answers. */
  static async attach(o: KubeStackOptions): Promise<KubeStack> {
    const stack = new KubeStack(o, await kubeClient());
    if (o.routerEnabled) await stack.reachRouter();
    return stack;
  }

  private async reachRouter(): Promise<void> {
    const { names } = this.o;
    const service = await this.core.readNamespacedService({ name: names.routerService, namespace: names.namespace });
    const nodes = service.spec?.type === 'NodePort' ? (await this.core.listNode()).items : [];
    const address = routerAddress(service, nodes);
    if (address.via === 'none') throw new Error(`the router of ${names.release}: ${address.problem}`);
    let status: number;
    if (address.via === 'port-forward') {
      this.router = await new ManagedForward(this.o.kc, names.namespace, () => this.readyPod(names.routerLabels), POD_PORT, `router of ${names.release}`).start();
      status = await this.router.check('/health');
    } else {
      const res = await fetch(`${address.url}/health`, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
        throw new Error(`the router of ${names.release}: nothing answers at ${address.url}/health, the ${names.routerService} Service's ${address.via} address (${err.message}); this node must reach it, or set CONFIG_VLLM_ROUTER_SERVICE_TYPE to ClusterIP (a port-forward)`);
      });
      await res.arrayBuffer();
      status = res.status;
      this.routerDirect = address.url;
    }
    if (status !== 200) throw new Error(`the router of ${names.release} answers /health with ${status}`);
  }

  get routerUrl(): string {
    if (this.routerDirect) return this.routerDirect;
    if (this.router) return this.router.url;
    const first = [...this.engineForwards.values()][0];
    if (!first) throw new Error('no router and no engine forwarded yet: call engines() first');
    return first.url;
  }

  async engines(): Promise<EngineInfo[]> {
    const pods = await this.enginePods();
    const names = new Set(pods.map((p) => p.metadata?.name ?? ''));
    for (const [name, fwd] of this.engineForwards) {
      if (!names.has(name)) {
        await fwd.close();
        this.engineForwards.delete(name);
      }
    }
    const infos: EngineInfo[] = [];
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      let fwd = this.engineForwards.get(name);
      if (!fwd) {
        fwd = await new ManagedForward(this.o.kc, this.o.names.namespace, async () => name, POD_PORT, `engine ${name}`).start();
        this.engineForwards.set(name, fwd);
      }
      infos.push({
        id: name,
        url: fwd.url,
        metricsUrl: `${fwd.url}/metrics`,
        running: pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp,
        ready: podReady(pod),
        models: [this.o.servedModelName],
        role: podRole(pod, this.o.names),
      });
    }
    return infos;
  }

  /** Sets the engine Deployment's replicas through its scale subresource and waits until that many are ready. */
  async scale(replicas: number): Promise<void> {
    const { names } = this.o;
    if (this.o.autoscaled) {
      throw new Error(`the engine replicas of ${names.release} belong to KEDA (ScaledObject ${names.scaledObject}): a hand-set count would be undone; turn CONFIG_VLLM_AUTOSCALING_ENABLED off to scale by hand`);
    }
    const deployments = (await engineDeployments(this.apps, names)).map((d) => d.metadata?.name ?? '');
    const [name] = deployments;
    if (deployments.length !== 1 || name === undefined) {
      throw new Error(`${names.release} runs its engines in ${deployments.length} Deployments (${deployments.join(', ') || 'none'}): one replica count cannot scale them (with disaggregated prefill the prefill and decode engines are sized apart: CONFIG_VLLM_PD_PREFILL_ENGINES, CONFIG_VLLM_PD_DECODE_ENGINES)`);
    }
    if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`cannot scale ${name} to ${replicas}: a whole number of 0 or more is needed`);
    await this.apps.replaceNamespacedDeploymentScale({ name, namespace: names.namespace, body: { metadata: { name, namespace: names.namespace }, spec: { replicas } } });
    this.progress(`${names.release}: scaling ${name} to ${replicas}`);
    await this.waitEngines(replicas, `scale to ${replicas}`);
  }

  /** graceful: the pod is deleted with its grace period (the router drops it as it turns terminating); kill: grace period 0. */
  async stopEngine(id: string, how: 'graceful' | 'kill'): Promise<void> {
    const pods = await this.enginePods();
    if (!pods.some((p) => p.metadata?.name === id)) throw new Error(`${this.o.names.release} has no engine pod ${id}; its engines are: ${pods.map((p) => p.metadata?.name).join(', ') || 'none'}`);
    await this.core.deleteNamespacedPod({ name: id, namespace: this.o.names.namespace, ...(how === 'kill' ? { gracePeriodSeconds: 0 } : {}) });
    this.progress(`${this.o.names.release}: deleted pod ${id} (${how})`);
  }

  /**
   * The Deployment replaces a stopped pod by itself (under a new name): this waits until the wanted
   * replicas are ready again. With no id, one more engine is wanted.
   */
  async startEngine(id?: string): Promise<void> {
    const wanted = (await engineDeployments(this.apps, this.o.names)).reduce((n, d) => n + (d.spec?.replicas ?? 0), 0);
    if (id === undefined) return this.scale(wanted + 1);
    await this.waitEngines(wanted, `replace ${id}`);
  }

  /**
   * As `kubectl rollout restart`: a new stamp on the router Deployment's pod template, so the
   * Deployment rolls a new router pod and retires the old one gracefully (SIGTERM: it drains);
   * done when the rollout is complete and no old router pod is left.
   */
  async restartRouter(): Promise<void> {
    const { names } = this.o;
    if (!this.o.routerEnabled) throw new Error(`${names.release} runs no router`);
    const old = new Set((await this.routerPods()).map((p) => p.metadata?.name));
    const stamp = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } };
    await this.apps.patchNamespacedDeployment({ name: names.routerDeployment, namespace: names.namespace, body: stamp }, this.k8s.setHeaderOptions('Content-Type', this.k8s.PatchStrategy.StrategicMergePatch));
    this.progress(`${names.release}: restarting ${names.routerDeployment} (rollout restart)`);
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      const d = await this.apps.readNamespacedDeployment({ name: names.routerDeployment, namespace: names.namespace });
      const want = d.spec?.replicas ?? 1;
      const s = d.status ?? {};
      const pods = await this.routerPods();
      const rolled = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && s.updatedReplicas === want && s.availableReplicas === want && (s.replicas ?? 0) === want;
      if (rolled && pods.every((p) => !old.has(p.metadata?.name))) return;
      if (Date.now() > deadline) {
        throw new Error(`${names.release}: the router's rollout restart did not finish within ${this.waitTimeoutMs / 1000} s: ${s.updatedReplicas ?? 0}/${want} updated, ${s.availableReplicas ?? 0} available, old pods left: ${pods.filter((p) => old.has(p.metadata?.name)).map((p) => p.metadata?.name).join(', ') || 'none'}`);
      }
      await sleep(250);
    }
  }

  /** helm uninstall of the node's release, the harness's Secrets, and the port-forwards. */
  async teardown(): Promise<void> {
    await this.uninstall();
  }

  /** Uninstalls the release and deletes its Secrets; true when there was any of them to remove. */
  async uninstall(): Promise<boolean> {
    await this.close();
    // helm uninstall --ignore-not-found says "uninstalled" either way: whether there was a release, helm status tells.
    let changed = (await $({ quiet: true, nothrow: true })`${this.o.helm} ${statusArgs(this.o.names, this.o.access)}`).exitCode === 0;
    const helm = $({ quiet: true, nothrow: true })`${this.o.helm} ${uninstallArgs(this.o.names, this.o.access)}`;
    // helm --wait waits for the LoraAdapters too, which its deletion of the LoRA controller leaves Terminating: released meanwhile.
    const released = releaseStuckLoraAdapters(this.o.kc, this.o.names, this.progress, helm);
    const [out, releaseError] = await Promise.all([helm, released.then(() => null, (err: Error) => err)]);
    if (releaseError && out.exitCode === 0) throw releaseError;
    if (out.exitCode !== 0) throw new Error(`helm uninstall ${this.o.names.release} failed: ${out.stderr.trim()}`);
    for (const secret of [this.o.names.secrets, this.o.names.grafanaAdmin]) {
      const deleted = await this.core.deleteNamespacedSecret({ name: secret, namespace: this.o.names.namespace }).then(() => true, (err: { code?: number }) => {
        if (err.code !== 404) throw err;
        return false;
      });
      changed ||= deleted;
    }
    this.progress(`${this.o.names.release}: ${changed ? 'uninstalled' : 'not installed, nothing to uninstall'}`);
    return changed;
  }

  /** Stops the port-forwards (the release keeps running). */
  async close(): Promise<void> {
    await this.router?.close();
    this.router = null;
    for (const f of this.engineForwards.values()) await f.close();
    this.engineForwards.clear();
  }

  enginePods(): Promise<V1Pod[]> {
    return this.pods(this.o.names.engineLabels);
  }

  private routerPods(): Promise<V1Pod[]> {
    return this.pods(this.o.names.routerLabels);
  }

  /** The release's pods with these labels, by name. */
  private async pods(labels: Record<string, string>): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace: this.o.names.namespace, labelSelector: selector(labels) });
    return list.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }

  private async readyPod(labels: Record<string, string>): Promise<string | null> {
    return (await this.pods(labels)).find(podReady)?.metadata?.name ?? null;
  }

  private async waitEngines(replicas: number, what: string): Promise<void> {
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      const pods = await this.enginePods();
      const ready = pods.filter(podReady).length;
      // Terminating pods still serve until they stop: done when exactly the wanted ones are left.
      if (ready === replicas && pods.length === replicas) return;
      if (Date.now() > deadline) {
        throw new Error(`${this.o.names.release}: ${what} did not finish within ${this.waitTimeoutMs / 1000} s: ${ready}/${replicas} engines ready, ${pods.length} pods`);
      }
      await sleep(250);
    }
  }
}
