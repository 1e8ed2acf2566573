// Reads a node's live state: pid liveness, /health, the router's /engines and
// each engine's /metrics, all at once with short timeouts so that the whole
// report stays well under the 2 s the simplified status promises.
import { join } from 'node:path';
import { routerUrl, type LocalStackSpec } from '../stack/local-stack-spec.js';
import { LocalStack } from '../stack/local-stack.js';
import { httpJson, httpOk } from '../stack/wait-ready.js';
import { nodeState, type EngineStatus, type NodeStatus } from './node-status.js';
import { sumMetric } from './prometheus-text.js';

const TIMEOUT_MS = 600;

async function metricsText(url: string, headers: Record<string, string>): Promise<string | null> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

function base(spec: LocalStackSpec, target: string): Omit<NodeStatus, 'state' | 'router_running' | 'engines_ready' | 'engines_total' | 'models' | 'engines' | 'deployed_at' | 'problems'> {
  return {
    node: spec.node, role: spec.role, target,
    router_url: spec.router ? routerUrl(spec) : null,
    router_impl: spec.router?.impl ?? null,
    routing_logic: spec.router?.routingLogic ?? null,
    engine_kind: spec.engine.kind,
    lmcache: spec.engine.lmcacheEnabled,
    prometheus_url: spec.prometheus ? `http://127.0.0.1:${spec.prometheus.port}` : null,
    work_dir: spec.workDir,
  };
}

/** A node on this machine: everything is inspected directly. */
export async function localNodeStatus(spec: LocalStackSpec, target: string): Promise<NodeStatus> {
  const [deploying, stack] = await Promise.all([LocalStack.deploying(spec), LocalStack.attach(spec)]);
  if (!stack) {
    return { ...base(spec, target), state: nodeState(deploying, false, null, 0, 0), router_running: null, engines_ready: 0, engines_total: 0, models: [], engines: [], deployed_at: null, problems: [] };
  }
  const auth: Record<string, string> = spec.engine.env.VLLM_API_KEY ? { authorization: `Bearer ${spec.engine.env.VLLM_API_KEY}` } : {};
  const [engines, services] = await Promise.all([stack.engines(), stack.services()]);
  const router = services.find((s) => s.id === 'router');
  const routerUp = router ? router.running && (await httpOk(`${routerUrl(spec)}/health`, {}, TIMEOUT_MS)) : null;
  const problems: string[] = [];
  const detailed: EngineStatus[] = await Promise.all(engines.map(async (e) => {
    const text = e.running ? await metricsText(e.metricsUrl, auth) : null;
    const log = join(spec.workDir, 'logs', `${e.id}.log`);
    if (!e.running) problems.push(`${e.id} is not running (crashed or killed); its log: ${log}`);
    else if (!e.ready) problems.push(`${e.id} runs but does not answer /v1/models; its log: ${log}`);
    return {
      id: e.id, url: e.url, running: e.running, ready: e.ready, models: e.models,
      requests_running: text === null ? null : sumMetric(text, 'vllm:num_requests_running'),
      requests_waiting: text === null ? null : sumMetric(text, 'vllm:num_requests_waiting'),
      kv_cache_usage_perc: text === null ? null : sumMetric(text, 'vllm:kv_cache_usage_perc'),
      log,
    };
  }));
  if (router && !routerUp) problems.push(`the router is ${router.running ? 'not answering /health' : 'not running'}; its log: ${join(spec.workDir, 'logs', 'router.log')}`);
  const prometheus = services.find((s) => s.id === 'prometheus');
  if (prometheus && !prometheus.running) problems.push(`prometheus is not running; its log: ${join(spec.workDir, 'logs', 'prometheus.log')}`);
  const ready = detailed.filter((e) => e.ready).length;
  return {
    ...base(spec, target),
    prometheus_url: prometheus ? `http://127.0.0.1:${spec.prometheus?.port}` : null,
    state: nodeState(deploying, true, routerUp, ready, detailed.length),
    router_running: routerUp, engines_ready: ready, engines_total: detailed.length,
    models: [...new Set(detailed.flatMap((e) => e.models))].sort(),
    engines: detailed, deployed_at: stack.deployedAt, problems,
  };
}

interface RouterEngines { routing_logic?: string; engines: { id?: string; url: string; models: string[]; healthy: boolean }[] }

/** A declared host: only its router is reachable from here, so its view of the engines is what we report. */
export async function remoteNodeStatus(spec: LocalStackSpec, host: string, target: string): Promise<NodeStatus> {
  const url = `http://${host}:${spec.routerPort}`;
  const [up, engines] = await Promise.all([httpOk(`${url}/health`, {}, TIMEOUT_MS), httpJson<RouterEngines>(`${url}/engines`, {}, TIMEOUT_MS)]);
  const list: EngineStatus[] = (engines?.engines ?? []).map((e, i) => ({
    id: e.id ?? `engine-${i}`, url: e.url, running: e.healthy, ready: e.healthy, models: e.models,
    requests_running: null, requests_waiting: null, kv_cache_usage_perc: null, log: null,
  }));
  const ready = list.filter((e) => e.ready).length;
  return {
    ...base(spec, target), router_url: url,
    state: nodeState(false, up || list.length > 0, up, ready, list.length),
    router_running: up, engines_ready: ready, engines_total: list.length,
    models: [...new Set(list.flatMap((e) => e.models))].sort(), engines: list, deployed_at: null,
    problems: up ? [] : [`the router at ${url} does not answer; run make vllm-status on the node itself or make vllm`],
  };
}
