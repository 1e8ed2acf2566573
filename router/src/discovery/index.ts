// Where the engines come from. A discovery source feeds the router's one
// endpoint set (Backends, by way of the forwarder, whose engine pools follow
// it) with the backends it finds, as often as they change; the dynamic config
// file feeds the same place under static discovery. Sources: the --static-backends list, and Kubernetes
// (--service-discovery k8s, k8s-discovery.ts), loaded only when asked for:
// its client library takes a second or more to load.
import type { BackendSpec, ModelType } from './backend-spec.js';
import type { DiscoverySource } from './discovery-source.js';
import type { K8sDiscoveryOptions } from './k8s-options.js';

export type { DiscoverySource } from './discovery-source.js';

export { MODEL_TYPES, type BackendSpec, type ModelType, type PodRef } from './backend-spec.js';

/** What discovery reads of the router's options (RouterOptions holds them): the command line is parsed above this folder. */
export interface DiscoveryOptions {
  serviceDiscovery: 'static' | 'k8s';
  k8s: K8sDiscoveryOptions;
  staticBackends: string[];
  staticModels: string[];
  staticModelTypes: ModelType[];
  staticModelLabels: string[];
  engineApiKey: string | null;
}

/** The backends of --static-backends, with their models, types and labels, applied once. */
export class StaticDiscovery implements DiscoverySource {
  readonly name = 'static';

  constructor(private readonly backends: BackendSpec[]) {}

  start(apply: (backends: BackendSpec[]) => void): void {
    apply(this.backends);
  }

  stop(): void {}

  healthy(): boolean {
    return true;
  }
}

export function staticBackends(options: DiscoveryOptions): BackendSpec[] {
  return options.staticBackends.map((url, i) => ({
    url,
    models: options.staticModels[i] ? [options.staticModels[i] as string] : [],
    label: options.staticModelLabels[i] ?? 'default',
    modelType: options.staticModelTypes[i] ?? null,
  }));
}

/** The static source; Kubernetes discovery needs loadDiscovery(). */
export function createDiscovery(options: DiscoveryOptions): DiscoverySource {
  if (options.serviceDiscovery !== 'static') throw new Error(`service discovery "${options.serviceDiscovery}" is loaded with loadDiscovery()`);
  return new StaticDiscovery(staticBackends(options));
}

/** The source the options ask for; throws when Kubernetes cannot be configured (no kubeconfig, no service account). */
export async function loadDiscovery(options: DiscoveryOptions): Promise<DiscoverySource> {
  if (options.serviceDiscovery === 'static') return createDiscovery(options);
  const { K8sDiscovery } = await import('./k8s-discovery.js');
  const engineAuth: Record<string, string> = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
  return new K8sDiscovery(options.k8s, { engineAuth });
}
