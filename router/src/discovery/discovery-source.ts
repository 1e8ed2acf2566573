// What every discovery (static, Kubernetes) is to the backends: its own file,
// so that index.ts, which picks one, and the sources, which implement it, do not
// import each other.
import type { BackendSpec } from './backend-spec.js';
import type { LogFn } from './k8s-engines.js';

export interface DiscoverySource {
  readonly name: string;
  /** Starts feeding: `apply` replaces the endpoint set with the backends found, now and on each change; `log` takes its state changes. */
  start(apply: (backends: BackendSpec[]) => void, log?: LogFn): void;
  stop(): void;
  /** False when the source has lost sight of the engines: the router's /health then answers 503. */
  healthy(): boolean;
  /** Why it is unhealthy (or what is going wrong still within its bound); null when nothing is. */
  problem?(): string | null;
  /** What /engines shows about the source: its settings, health and every engine it has seen. */
  describe?(): Record<string, unknown>;
}
