// Kubernetes discovery (--service-discovery k8s): engine pods (or Services)
// found by namespace and label selector through client-node's informer, kept
// in rotation while Kubernetes calls them ready, and handed to the router's
// endpoint set on every change. The cluster is reached with the in-cluster
// service account when running in a pod, else with the kubeconfig
// (KUBECONFIG, then ~/.kube/config); KUBECONFIG set explicitly wins.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type KubernetesObject, type V1Endpoints, type V1Pod } from '@kubernetes/client-node';
import type { BackendSpec } from './backend-spec.js';
import type { DiscoverySource } from './discovery-source.js';
import { modelsFetcher, type ModelsFetcher } from './engine-models.js';
import { EngineTracker, type DiscoveredEngine, type EngineState, type LogFn } from './k8s-engines.js';
import { ResilientInformer, type InformerHealth, type InformerSettings, type InformerTarget } from './k8s-informer.js';
import { podEngine, serviceEngine, type EngineView } from './k8s-objects.js';
import type { K8sDiscoveryOptions } from './k8s-options.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The cluster's client configuration, or an error saying where it was looked for. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  let source: string;
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(':').filter(Boolean);
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) throw new Error(`KUBECONFIG names ${missing.join(', ')}, which does not exist`);
    kc.loadFromFile(files[0] as string);
    for (const f of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(f);
      kc.mergeConfig(more);
    }
    source = `KUBECONFIG=${env.KUBECONFIG}`;
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    source = 'the in-cluster service account';
  } else {
    const file = join(env.HOME ?? homedir(), '.kube', 'config');
    if (!existsSync(file)) {
      throw new Error(`no Kubernetes configuration: not in a pod (KUBERNETES_SERVICE_HOST is unset), KUBECONFIG is unset and ${file} does not exist`);
    }
    kc.loadFromFile(file);
    source = file;
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`the Kubernetes configuration from ${source} has no current context with a cluster (current context: "${kc.getCurrentContext()}")`);
  return { kc, source: `${source}, server ${cluster.server}` };
}

export interface K8sDiscoveryDeps {
  /** Where state changes are logged until start() is given the router's log. */
  log?: LogFn;
  /** Headers for the engines (their API key), sent with GET /v1/models. */
  engineAuth: Record<string, string>;
  /** Default: loadKubeConfig(). */
  kubeConfig?: KubeConfig;
  fetchModels?: ModelsFetcher;
  /** Shorter timings for tests. */
  timing?: Partial<Pick<InformerSettings, 'requestTimeoutMs' | 'watchGraceMs' | 'retryMinMs' | 'retryMaxMs' | 'now'>> & { modelsRetryMinMs?: number; modelsRetryMaxMs?: number };
}

/** What the router's endpoint set is given for an engine in rotation. */
export function backendOf(e: DiscoveredEngine): BackendSpec {
  return { url: e.url, models: e.models, label: e.label, pod: { name: e.name, namespace: e.namespace, readySince: e.readySince } };
}

export class K8sDiscovery implements DiscoverySource {
  readonly name = 'k8s';
  private readonly kc: KubeConfig;
  private readonly tracker: EngineTracker;
  private readonly informer: ResilientInformer<KubernetesObject>;
  private apply: (backends: BackendSpec[]) => void = () => undefined;
  private log: LogFn;
  /** Where the cluster configuration came from, for the startup log. */
  private readonly source: string;
  readonly what: string;

  constructor(readonly options: K8sDiscoveryOptions, deps: K8sDiscoveryDeps) {
    const loaded = deps.kubeConfig ? { kc: deps.kubeConfig, source: `server ${deps.kubeConfig.getCurrentCluster()?.server ?? '?'}` } : loadKubeConfig();
    this.kc = loaded.kc;
    this.source = loaded.source;
    this.log = deps.log ?? (() => undefined);
    const log: LogFn = (level, message, fields) => this.log(level, message, fields);
    const timing = deps.timing ?? {};
    const resource = options.type === 'pod-ip' ? 'pods' : 'endpoints';
    this.what = `${resource} in namespace ${options.namespace}${options.labelSelector ? ` with labels ${options.labelSelector}` : ''}`;
    this.tracker = new EngineTracker({
      kind: options.type === 'pod-ip' ? 'pod' : 'service',
      fetchModels: deps.fetchModels ?? modelsFetcher(deps.engineAuth, options.modelsTimeoutSeconds * 1000),
      apply: (engines) => this.apply(engines.map(backendOf)),
      log,
      now: Date.now,
      after: (ms, fn) => {
        const t = setTimeout(fn, ms);
        return () => clearTimeout(t);
      },
      retryMinMs: timing.modelsRetryMinMs ?? 250,
      retryMaxMs: timing.modelsRetryMaxMs ?? 10_000,
    });
    const core = this.kc.makeApiClient(CoreV1Api);
    const { namespace, labelSelector, port } = options;
    const selector = labelSelector === '' ? {} : { labelSelector };
    const target: InformerTarget<KubernetesObject> = options.type === 'pod-ip'
      ? { what: this.what, path: `/api/v1/namespaces/${namespace}/pods`, labelSelector, list: (o) => core.listNamespacedPod({ namespace, ...selector }, o) }
      : { what: this.what, path: `/api/v1/namespaces/${namespace}/endpoints`, labelSelector, list: (o) => core.listNamespacedEndpoints({ namespace, ...selector }, o) };
    const view = (o: KubernetesObject): EngineView => (options.type === 'pod-ip' ? podEngine(o as V1Pod, port) : serviceEngine(o as V1Endpoints, port));
    this.informer = new ResilientInformer(this.kc, target, {
      upsert: (o) => this.tracker.observe(view(o)),
      remove: (o) => this.tracker.forget(o.metadata?.name ?? ''),
    }, {
      watchTimeoutSeconds: options.watcherTimeoutSeconds,
      requestTimeoutMs: timing.requestTimeoutMs ?? 30_000,
      watchGraceMs: timing.watchGraceMs ?? 30_000,
      retryMinMs: timing.retryMinMs ?? 500,
      retryMaxMs: timing.retryMaxMs ?? 30_000,
      unhealthyAfterMs: options.unhealthyAfterSeconds * 1000,
      now: timing.now ?? Date.now,
      random: Math.random,
    }, log);
  }

  /** Starts watching; `apply` receives the engines in rotation after every change. */
  start(apply: (backends: BackendSpec[]) => void, log?: LogFn): void {
    this.apply = apply;
    if (log) this.log = log;
    this.log('info', `k8s discovery: ${this.what}, engines on port ${this.options.port} (${this.options.type}), cluster from ${this.source}`);
    this.informer.start();
  }

  stop(): void {
    this.informer.stop();
    this.tracker.stop();
  }

  healthy(): boolean {
    return this.informer.health().healthy;
  }

  health(): InformerHealth {
    return this.informer.health();
  }

  problem(): string | null {
    return this.informer.health().problem;
  }

  /** For /engines: where engines come from, whether that works, and every engine seen. */
  describe(): { source: string; namespace: string; label_selector: string; port: number; type: string; healthy: boolean; problem: string | null; engines: EngineState[] } {
    const h = this.informer.health();
    const o = this.options;
    return { source: 'k8s', namespace: o.namespace, label_selector: o.labelSelector, port: o.port, type: o.type, healthy: h.healthy, problem: h.problem, engines: this.tracker.states() };
  }
}
