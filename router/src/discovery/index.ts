// Where the engines come from. A discovery source feeds the router's one
// endpoint set (RouterServer.replaceBackends) with the backends it finds, as
// often as they change; the dynamic config file feeds the same place. Static
// discovery (--static-backends) is the source today; a Kubernetes source
// plugs in here (--service-discovery k8s).
import type { BackendSpec } from '../endpoints.js';
import type { RouterOptions } from '../options.js';

export interface DiscoverySource {
  readonly name: string;
  /** Starts feeding: `apply` replaces the endpoint set with the backends found, now and on each change. */
  start(apply: (backends: BackendSpec[]) => void): void;
  stop(): void;
  /** False when the source has lost sight of the engines: the router's /health then answers 503. */
  healthy(): boolean;
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

export function staticBackends(options: RouterOptions): BackendSpec[] {
  return options.staticBackends.map((url, i) => ({
    url,
    models: options.staticModels[i] ? [options.staticModels[i] as string] : [],
    label: options.staticModelLabels[i] ?? 'default',
    modelType: options.staticModelTypes[i] ?? null,
  }));
}

export function createDiscovery(options: RouterOptions): DiscoverySource {
  switch (options.serviceDiscovery) {
    case 'static': return new StaticDiscovery(staticBackends(options));
    // Unreachable from typed code (options.ts refuses the others).
    default: throw new Error(`service discovery "${String(options.serviceDiscovery)}" is not available`);
  }
}
