// The nodes of a configuration (baseline, and dev with A/B) and each one's
// effective settings: the single source of truth for the inventory and for
// the node-side tools. Dev overrides apply on the dev node only.
import { isAbsolute, join } from 'node:path';
import type { PdRoutingLogic, RouterImpl, RoutingLogic } from './choices.js';
import type { ExtraVars } from './extra-vars.js';

/** The project's state dir (deployment records, node locks), relative to the project directory. */
export const STATE_DIR = '.deployed';

export interface NodeConfig {
  /** Inventory hostname. */
  name: string;
  role: 'baseline' | 'dev';
  index: number;
  /** Declared host reached by SSH, or null for this machine. */
  host: string | null;
  /** Where the node's side of the project lives: the project directory here, CONFIG_VLLM_NODE_DIR on a declared host. */
  topdir: string;
  workDir: string;
  /** Where the project keeps deployment records and node locks: fixed, whatever the configuration says. */
  stateDir: string;
  routerPort: number;
  enginePortBase: number;
  prometheusPort: number;
  routerImpl: RouterImpl;
  routingLogic: RoutingLogic;
  engineImageTag: string;
  lmcacheEnabled: boolean;
  /** The router prefers engines whose GPU slots likely hold a request's LoRA adapter (--lora-affinity). */
  loraAffinity: boolean;
  extraEngineArgs: string[];
  /** Disaggregated prefill on this node, or null when its engines are colocated. */
  pd: PdNode | null;
  /** The dev overrides that differ from baseline, by variable name, for the inventory. */
  overrides: Record<string, string | boolean | string[]>;
}

/** A disaggregating node's engines: the first `prefill` are prefill engines, the next `decode` decode engines. */
export interface PdNode {
  prefill: number;
  decode: number;
  routingLogic: PdRoutingLogic;
}

function pdNode(v: ExtraVars): PdNode | null {
  if (v.vllm_pd_prefill_engines === undefined || v.vllm_pd_decode_engines === undefined || v.vllm_pd_routing_logic === undefined) return null;
  return { prefill: v.vllm_pd_prefill_engines, decode: v.vllm_pd_decode_engines, routingLogic: v.vllm_pd_routing_logic };
}

// Nodes on one machine are this far apart in ports, so engines of one never meet the other's.
export const NODE_PORT_STRIDE = 100;

/** Where engine `index` of a disaggregating node listens for KV: half a node stride above its API port. */
export function kvPort(enginePortBase: number, index: number): number {
  return enginePortBase + NODE_PORT_STRIDE / 2 + index;
}

function splitArgs(text: string): string[] {
  return text.trim() === '' ? [] : text.trim().split(/\s+/);
}

/**
 * The project directory a node's tools run from: this one, or on a declared
 * host the node dir bring-up ships them to (never this machine's path, which
 * the host need not have).
 */
export function nodeTopdir(v: Pick<ExtraVars, 'vllm_declared_hosts' | 'vllm_node_dir'>, host: string | null, topdir: string): string {
  if (host === null) return topdir;
  if (!v.vllm_node_dir) throw new Error('CONFIG_VLLM_NODE_DIR is missing from extra_vars.yaml although declared hosts are set; run make olddefconfig');
  return v.vllm_node_dir;
}

export function nodeConfigs(v: ExtraVars, topdir: string): NodeConfig[] {
  const hosts = v.vllm_declared_hosts === '' ? [] : v.vllm_declared_hosts.split(',');
  const roles: ('baseline' | 'dev')[] = v.vllm_baseline_and_dev ? ['baseline', 'dev'] : ['baseline'];
  return roles.map((role, index) => {
    const name = `vllm-${role}`;
    const routerPort = v.vllm_api_port + NODE_PORT_STRIDE * index;
    const base = {
      routerImpl: v.vllm_router_impl ?? 'builtin',
      routingLogic: v.vllm_routing_logic ?? 'roundrobin',
      engineImageTag: v.vllm_engine_image_tag ?? '',
      lmcacheEnabled: v.vllm_lmcache_enabled,
      loraAffinity: v.vllm_router_lora_affinity,
      extraEngineArgs: [] as string[],
      pd: v.vllm_pd_enabled ? pdNode(v) : null,
    };
    const overrides: NodeConfig['overrides'] = {};
    if (role === 'dev') {
      if (v.vllm_dev_router_impl) overrides.router_impl = base.routerImpl = v.vllm_dev_router_impl;
      if (v.vllm_dev_routing_logic) overrides.routing_logic = base.routingLogic = v.vllm_dev_routing_logic;
      if (v.vllm_dev_engine_image_tag) overrides.engine_image_tag = base.engineImageTag = v.vllm_dev_engine_image_tag;
      if (v.vllm_dev_lmcache_enabled) overrides.lmcache_enabled = base.lmcacheEnabled = v.vllm_dev_lmcache_enabled === 'y';
      if (v.vllm_dev_lora_affinity) overrides.lora_affinity = base.loraAffinity = true;
      if (v.vllm_dev_pd_on) {
        base.pd = pdNode(v);
        if (base.pd) overrides.pd = `${base.pd.prefill}P${base.pd.decode}D ${base.pd.routingLogic}`;
      }
      if (v.vllm_dev_extra_engine_args) overrides.extra_engine_args = base.extraEngineArgs = splitArgs(v.vllm_dev_extra_engine_args);
    }
    const host = hosts[index] ?? null;
    const nodeDir = nodeTopdir(v, host, topdir);
    const workRoot = isAbsolute(v.vllm_work_dir) ? v.vllm_work_dir : join(nodeDir, v.vllm_work_dir);
    return {
      name, role, index, host,
      topdir: nodeDir,
      workDir: join(workRoot, name),
      stateDir: join(nodeDir, STATE_DIR),
      routerPort,
      enginePortBase: routerPort + 1,
      prometheusPort: (v.vllm_prometheus_port ?? 9090) + index,
      ...base,
      overrides,
    };
  });
}
