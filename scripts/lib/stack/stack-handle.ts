// The one abstraction suites and benchmarks stand on: they never ask where
// the stack runs (see shared/design/architecture.md).

export interface EngineInfo {
  id: string;
  url: string;
  metricsUrl: string;
  /** The process (or pod) exists. */
  running: boolean;
  /** It answers /health. */
  ready: boolean;
  models: string[];
}

export interface StackHandle {
  /** OpenAI-compatible entry point: the router, or the only engine when the router is off. */
  readonly routerUrl: string;
  engines(): Promise<EngineInfo[]>;
  scale(replicas: number): Promise<void>;
  /** graceful: the router stops sending to it first; kill: a crash the router must notice itself. */
  stopEngine(id: string, how: 'graceful' | 'kill'): Promise<void>;
  /** Starts a stopped engine again, or a new one when no id is given. */
  startEngine(id?: string): Promise<void>;
  teardown(): Promise<void>;
}
