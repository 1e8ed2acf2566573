// Reads a node's live state: what its deployment record says runs, checked
// against pid liveness, /health, the router's own /engines (its live routing
// logic) and each engine's /metrics, all at once with short timeouts; and what
// the configuration changed since deploy. Status runs after every step users
// take, so it answers in a fraction of a second.
import { join } from 'node:path';
import { describeDrift, lockHolder, readRecord, specDrift, type NodeRef } from '../../deployment/index.js';
import { engineUrl, routerUrl, type NodePlan } from '../../vocabulary/node-plan.js';
import { deployInProgress, LocalStack } from './local-stack.js';
import { httpGet, httpJson, httpOk } from './wait-ready.js';
import { nodeState, type EngineStatus, type NodeStatus } from '../../status/node-status.js';
import { ENGINE_COUNTERS } from '../../vocabulary/engine-counters.js';
import { sumMetric } from '../../vocabulary/prometheus-text.js';

const TIMEOUT_MS = 600;

async function metricsText(url: string, headers: Record<string, string>): Promise<string | null> {
  const res = await httpGet(url, headers, TIMEOUT_MS);
  return res !== null && res.status === 200 ? res.body : null;
}

interface RouterView { routing_logic?: string; session_key?: string; engines: { id?: string; url: string; models: string[]; healthy: boolean }[] }

function base(spec: NodePlan, target: string, configured: boolean): Omit<NodeStatus, 'state' | 'router_running' | 'engines_ready' | 'engines_total' | 'models' | 'engines' | 'deployed_at' | 'problems' | 'drift' | 'busy'> {
  return {
    node: spec.node, role: spec.role, target,
    router_url: spec.router ? routerUrl(spec) : null,
    router_impl: spec.router?.impl ?? null,
    routing_logic: spec.router?.routingLogic ?? null,
    engine_kind: spec.engine.kind,
    lmcache: spec.engine.lmcacheEnabled,
    prometheus_url: spec.prometheus ? `http://127.0.0.1:${spec.prometheus.port}` : null,
    work_dir: spec.workDir,
    configured,
  };
}

/**
 * A node on this machine. `configured` is the spec the current configuration
 * gives the node (null: the configuration has no such node, or there is none).
 */
export async function localNodeStatus(ref: NodeRef, configured: NodePlan | null, target: string): Promise<NodeStatus> {
  const [record, holder] = await Promise.all([readRecord(ref), lockHolder(ref)]);
  const busy = holder ? { command: holder.command, pid: holder.pid, since: holder.since } : null;
  if (!record) {
    if (!configured) throw new Error(`node ${ref.node} is neither configured nor deployed`);
    return {
      ...base(configured, target, true), state: 'stopped', router_running: null, engines_ready: 0, engines_total: 0,
      models: [], engines: [], deployed_at: null, drift: [], busy, problems: [],
    };
  }
  const stack = await LocalStack.attach(ref) as LocalStack;
  const { spec } = stack;
  const auth: Record<string, string> = spec.engine.env.VLLM_API_KEY ? { authorization: `Bearer ${spec.engine.env.VLLM_API_KEY}` } : {};
  const url = spec.router ? routerUrl(spec) : null;
  // One round of requests: everything at once, each with a short timeout.
  const [engines, services, routerHealthy, view, metrics] = await Promise.all([
    stack.engines(),
    stack.services(),
    url ? httpOk(`${url}/health`, {}, TIMEOUT_MS) : Promise.resolve(null),
    url ? httpJson<RouterView>(`${url}/engines`, {}, TIMEOUT_MS) : Promise.resolve(null),
    Promise.all(record.stack.engines.map((i) => metricsText(`${engineUrl(spec, i)}/metrics`, auth))),
  ]);
  const router = services.find((s) => s.id === 'router');
  const routerUp = router ? router.running && routerHealthy === true : null;
  const problems: string[] = [];
  const detailed: EngineStatus[] = engines.map((e, k) => {
    const text = e.running ? metrics[k] ?? null : null;
    const log = join(spec.workDir, 'logs', `${e.id}.log`);
    if (!e.running) problems.push(`${e.id} is not running (crashed or killed); its log: ${log}`);
    else if (!e.ready) problems.push(`${e.id} runs but does not answer /v1/models; its log: ${log}`);
    return {
      id: e.id, url: e.url, running: e.running, ready: e.ready, models: e.models,
      requests_running: text === null ? null : sumMetric(text, ...ENGINE_COUNTERS.running),
      requests_waiting: text === null ? null : sumMetric(text, ...ENGINE_COUNTERS.waiting),
      kv_cache_usage_perc: text === null ? null : sumMetric(text, ...ENGINE_COUNTERS.kvCacheUsage),
      log,
    };
  });
  if (router && !routerUp) problems.push(`the router is ${router.running ? 'not answering /health' : 'not running'}; its log: ${join(spec.workDir, 'logs', 'router.log')}`);
  // What the router itself says it does wins over what it was started with.
  const liveLogic = view?.routing_logic ?? null;
  if (liveLogic && spec.router && liveLogic !== spec.router.routingLogic) {
    problems.push(`the router routes ${liveLogic}, but was deployed with ${spec.router.routingLogic}`);
  }
  const prometheus = services.find((s) => s.id === 'prometheus');
  if (prometheus && !prometheus.running) problems.push(`prometheus is not running; its log: ${join(spec.workDir, 'logs', 'prometheus.log')}`);
  const deploying = deployInProgress(record);
  if (record.state === 'deploying' && !deploying) {
    problems.push(`a deploy (pid ${record.deployer.pid}) was interrupted: make vllm redeploys, make vllm-teardown stops what it started`);
  }
  const drift = configured ? specDrift(record.spec, configured).map(describeDrift) : [];
  if (!configured) problems.push(`deployed but not in the current configuration: make vllm-teardown stops it`);
  const ready = detailed.filter((e) => e.ready).length;
  return {
    ...base(spec, target, configured !== null),
    routing_logic: liveLogic ?? spec.router?.routingLogic ?? null,
    prometheus_url: prometheus ? `http://127.0.0.1:${spec.prometheus?.port}` : null,
    state: nodeState(deploying, true, routerUp, ready, detailed.length),
    router_running: routerUp, engines_ready: ready, engines_total: detailed.length,
    models: [...new Set(detailed.flatMap((e) => e.models))].sort(),
    engines: detailed, deployed_at: stack.deployedAt, drift, busy, problems,
  };
}

/** A declared host: only its router is reachable from here, so its view of the engines is what we report. */
export async function remoteNodeStatus(spec: NodePlan, host: string, target: string, configured: boolean): Promise<NodeStatus> {
  const url = `http://${host}:${spec.routerPort}`;
  const [up, view] = await Promise.all([httpOk(`${url}/health`, {}, TIMEOUT_MS), httpJson<RouterView>(`${url}/engines`, {}, TIMEOUT_MS)]);
  const list: EngineStatus[] = (view?.engines ?? []).map((e, i) => ({
    id: e.id ?? `engine-${i}`, url: e.url, running: e.healthy, ready: e.healthy, models: e.models,
    requests_running: null, requests_waiting: null, kv_cache_usage_perc: null, log: null,
  }));
  const ready = list.filter((e) => e.ready).length;
  return {
    ...base(spec, target, configured), router_url: url,
    routing_logic: view?.routing_logic ?? spec.router?.routingLogic ?? null,
    state: nodeState(false, up || list.length > 0, up, ready, list.length),
    router_running: up, engines_ready: ready, engines_total: list.length,
    models: [...new Set(list.flatMap((e) => e.models))].sort(), engines: list, deployed_at: null, drift: [], busy: null,
    problems: up ? [] : [`the router at ${url} does not answer; run make vllm-status on the node itself or make vllm`],
  };
}
