// The target contract: what a node is made of differs per target (processes
// on this machine, a Helm release on a cluster), and each target implements
// this one interface. vllm-node's steps (deploy, smoke, test, bench, snapshot,
// pack, teardown, status…) are written once on it, so a step exists on every
// target or the code does not compile.
import type { NodeRef } from '../deployment/index.js';
import type { SnapshotSources } from '../observability/metrics-snapshot.js';
import type { LoadedNode } from '../stack/load-node.js';
import type { StackHandle } from '../stack/stack-handle.js';

/** Where a node tool runs and how it reports. */
export interface NodeEnv {
  ref: NodeRef;
  /** The configuration file (extra_vars.yaml) and the project directory it lives in. */
  extraVars: string;
  topdir: string;
  /** The command as a user would recognise it, for whoever finds the node locked. */
  label: string;
  /** The run this step belongs to (--run-id), or null for a step run by hand. */
  runId: string | null;
  progress: (line: string) => void;
  warn: (line: string) => void;
}

/** A deployed stack, attached to: the handle suites and benchmarks use, and what clients need to talk to it. */
export interface AttachedStack {
  handle: StackHandle;
  /** The model clients ask for (served name). */
  model: string;
  apiKey: string | undefined;
  /** The header the router keys sessions on. */
  sessionKey: string;
  /** The node's work dir, where progress files and ad-hoc outputs go. */
  workDir: string;
  /** Where to look when the stack misbehaves, for error messages. */
  logsHint: string;
  /** Where the run's metrics are read for its snapshot. */
  metricsSources(): Promise<SnapshotSources>;
  /** Releases what attaching holds (port-forwards); the stack keeps running. */
  close(): Promise<void>;
}

/**
 * What a command tells its caller (vllm-node prints it as its last line, in JSON): whether it
 * changed the node (processes, a release, files), and any value the caller reads (pack: the tarball).
 */
export interface StepReport {
  changed: boolean;
  [value: string]: unknown;
}

/** Lines for a person, and whether the node changed. */
export interface Outcome {
  lines: string[];
  changed: boolean;
}

/** A target-only command (preparing a minikube host), run as `vllm-node NAME`. */
export interface HostCommand {
  /** Whether it takes the node's lock. */
  locked: boolean;
  run(): Promise<StepReport>;
}

export interface NodeTarget {
  /** CONFIG_VLLM_TARGET's value, as status shows it. */
  readonly kind: string;
  /** The node as configured; null when no configuration names it (teardown, cleanup, status and smoke still work). */
  readonly configured: LoadedNode | null;
  /** Runs fn holding the node's lock (and, on a cluster, its release's Lease). */
  withLock<T>(command: string, fn: () => Promise<T>): Promise<T>;
  /** Bring-up checks: a line per thing checked; throws naming every problem and what to do. */
  check(): Promise<string[]>;
  /** Replaces what the node ran with the configured stack and waits until it serves; returns what deploy.json records. */
  deploy(runDir: string | null): Promise<Record<string, unknown>>;
  /** The deployed stack, or null when nothing is deployed. */
  attach(): Promise<AttachedStack | null>;
  /** Stops what is deployed; a line per thing done, changed when anything was running or recorded. */
  teardown(): Promise<Outcome>;
  /** Teardown, then removes the node's work dir; changed when either did something. */
  cleanup(): Promise<Outcome>;
  /** The node's live state, for a person or (json) for scripts. */
  status(json: boolean): Promise<string>;
  /** Notes, on a run's first step on the node, where its logs start, so the run keeps only its own lines. */
  markRunStart(runDir: string): Promise<void>;
  /** Puts the log lines written since the run started into <runDir>/logs/; returns the files written. */
  collectLogs(runDir: string): Promise<string[]>;
  /** Commands only this target has (none locally). */
  readonly hostCommands: Readonly<Record<string, HostCommand>>;
}
