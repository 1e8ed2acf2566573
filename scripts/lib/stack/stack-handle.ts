// The one abstraction suites and benchmarks stand on: they never ask where
// the stack runs (see shared/design/architecture.md).
import type { EngineRole } from '../vocabulary/node-plan.js';

export interface EngineInfo {
  id: string;
  url: string;
  metricsUrl: string;
  /** The process (or pod) exists. */
  running: boolean;
  /** It answers /health. */
  ready: boolean;
  models: string[];
  /** Prefill or decode engine under disaggregated prefill, else colocated: what the target deployed it as. */
  role: EngineRole;
}

export interface StackHandle {
  /** OpenAI-compatible entry point: the router, or the only engine when the router is off. */
  readonly routerUrl: string;
  engines(): Promise<EngineInfo[]>;
  /** Up: new engines serve before the router sends to them. Down: as stopEngine graceful, for the highest engines. */
  scale(replicas: number): Promise<void>;
  /**
   * graceful: out of the router's rotation, drained (the engine reports no
   * running or waiting request), then stopped; kill: SIGKILL at once, a
   * crash the router must notice itself (the engine stays configured).
   */
  stopEngine(id: string, how: 'graceful' | 'kill'): Promise<void>;
  /** Starts a stopped engine again, or a new one when no id is given. */
  startEngine(id?: string): Promise<void>;
  /** Stops the router gracefully (it drains) and starts it again with the same settings; absent where the target cannot. */
  restartRouter?(): Promise<void>;
  /** The router's resident memory in bytes, or null when it cannot be read; absent where the target cannot. */
  routerMemoryBytes?(): Promise<number | null>;
  teardown(): Promise<void>;
}
