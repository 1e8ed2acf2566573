// What a node's deployment is doing right now, read from live processes and
// endpoints (never from logs), as data; formatting lives in format-status.ts.

export type NodeState = 'running' | 'degraded' | 'stopped' | 'deploying';

export interface EngineStatus {
  id: string;
  url: string;
  running: boolean;
  ready: boolean;
  models: string[];
  requests_running: number | null;
  requests_waiting: number | null;
  kv_cache_usage_perc: number | null;
  log: string | null;
}

export interface NodeStatus {
  node: string;
  role: 'baseline' | 'dev';
  target: string;
  state: NodeState;
  router_url: string | null;
  router_running: boolean | null;
  router_impl: string | null;
  routing_logic: string | null;
  engine_kind: string;
  lmcache: boolean;
  engines_ready: number;
  engines_total: number;
  models: string[];
  engines: EngineStatus[];
  prometheus_url: string | null;
  deployed_at: string | null;
  work_dir: string;
  /** The node is in the current configuration (a deployed node may no longer be). */
  configured: boolean;
  /** What the configuration changed since this node was deployed (empty: nothing, or not deployed). */
  drift: string[];
  /** The command holding the node's lock, while one does. */
  busy: { command: string; pid: number; since: string } | null;
  problems: string[];
}

export interface RunSummary {
  run_id: string;
  verdict: string;
  started_at: string;
  path: string;
}

export interface StatusReport {
  generated_at: string;
  /** null: there is no configuration (no .config); status then shows what is deployed. */
  target: string | null;
  ab: boolean;
  nodes: NodeStatus[];
  last_run: RunSummary | null;
  hints: string[];
}

/** The overall state of a node from the liveness of its parts. */
export function nodeState(deploying: boolean, deployed: boolean, routerUp: boolean | null, ready: number, total: number): NodeState {
  if (deploying) return 'deploying';
  if (!deployed) return 'stopped';
  if (routerUp === false && ready === 0) return 'stopped';
  if (routerUp !== false && total > 0 && ready === total) return 'running';
  return 'degraded';
}

/** Next steps a user would take from here, most useful first. */
export function nextSteps(nodes: NodeStatus[], lastRun: RunSummary | null, configured = true): string[] {
  const hints: string[] = [];
  const states = new Set(nodes.map((n) => n.state));
  const unconfigured = nodes.filter((n) => !n.configured && n.state !== 'stopped').map((n) => n.node);
  if (!configured) hints.push('make defconfig-vllm-local   # there is no .config: choose a configuration (make help lists them)');
  if (nodes.some((n) => n.drift.length > 0)) hints.push('make vllm            # the configuration changed since deploy: redeploy it');
  if (unconfigured.length > 0) hints.push(`make vllm-teardown   # stops ${unconfigured.join(', ')}, deployed but no longer configured (make vllm does too)`);
  if (states.has('deploying')) hints.push('a deployment is in progress: run this again in a few seconds');
  if (configured && states.has('stopped')) hints.push('make vllm            # deploy and test (runs bringup when needed)');
  if (states.has('degraded')) hints.push('make vllm            # redeploys cleanly and restarts what crashed');
  if (states.has('running')) {
    hints.push('make vllm-quick-test # one completion and one streamed chat through the router');
    hints.push('make vllm-teardown   # stop everything, keep results');
  }
  if (lastRun && lastRun.verdict !== 'pass') hints.push(`look at ${lastRun.path} (last run ${lastRun.verdict})`);
  // One hint per command: the first (most specific) reason given for it stays.
  const seen = new Set<string>();
  return hints.filter((h) => {
    const cmd = h.split('#')[0]?.trim() ?? h;
    if (seen.has(cmd)) return false;
    seen.add(cmd);
    return true;
  });
}
