// Configuration (extra vars + the node's settings) -> the node's plan
// (vocabulary/node-plan.ts): every option that shapes a node's engines,
// router and Prometheus is read here and nowhere else; the Helm values take
// their engine flags from here too.
import { homedir } from 'node:os';
import type { ExtraVars } from './index.js';
import { loraPlan } from './lora.js';
import { kvPort, type PdNode } from './node-config.js';
import { requiredOption } from './required-option.js';
import type { NodePlan, VllmRuntime } from '../vocabulary/node-plan.js';

/** The configuration a local deployment reads. */
export type StackConfigVars = Pick<ExtraVars,
  'vllm_engine' | 'vllm_model_url' | 'vllm_model_name' | 'vllm_replica_count' | 'vllm_max_model_len' | 'vllm_max_num_seqs'
  | 'vllm_dtype' | 'vllm_gpu_memory_utilization' | 'vllm_tensor_parallel_size' | 'vllm_enable_prefix_caching'
  | 'vllm_enable_chunked_prefill' | 'vllm_use_cpu_inference' | 'vllm_sim_prefill_time_per_token_us'
  | 'vllm_sim_inter_token_latency_us' | 'vllm_sim_kv_blocks' | 'vllm_sim_block_size' | 'vllm_sim_load_factor_pct'
  | 'vllm_sim_seed' | 'vllm_sim_offload_time_per_token_us' | 'vllm_lmcache_cpu_buffer_size' | 'vllm_lmcache_disk_buffer_size'
  | 'vllm_router_enabled' | 'vllm_router_session_key' | 'vllm_router_engine_stats_interval' | 'vllm_router_request_stats_window'
  | 'vllm_router_outlier_consecutive_5xx' | 'vllm_sim_kv_transfer_tokens_per_sec' | 'vllm_sim_prefill_chunk_tokens'
  | 'vllm_router_request_timeout' | 'vllm_router_max_concurrency'
  | 'vllm_engine_install' | 'vllm_version' | 'vllm_venv_dir' | 'vllm_container_runtime' | 'vllm_hf_cache_dir'
  | 'vllm_engine_image_repo' | 'vllm_engine_image_tag' | 'vllm_request_gpu'
  | 'vllm_observability_enabled' | 'vllm_autoscaling_enabled' | 'vllm_autoscaling_max_replicas'
  | 'vllm_prometheus_scrape_interval' | 'vllm_alert_error_rate_pct' | 'vllm_alert_ttft_p95_ms' | 'vllm_alert_kv_cache_usage_pct' | 'vllm_alert_queue_depth'>
  // LoRA is off where these are absent (configurations written before it).
  & Partial<Pick<ExtraVars, 'vllm_lora_enabled' | 'vllm_lora_adapters' | 'vllm_lora_max_loras' | 'vllm_lora_runtime_updating' | 'vllm_sim_lora_swap_time_ms'>>;

const need = requiredOption<StackConfigVars>('this deployment');

const ms = (us: number) => String(us / 1000);

export interface StackNodeSettings {
  name: string;
  role: 'baseline' | 'dev';
  /** 0 for baseline, 1 for dev: nodes sharing this machine take GPUs one after the other. */
  index?: number;
  host: string | null;
  workDir: string;
  stateDir: string;
  routerPort: number;
  enginePortBase: number;
  prometheusPort: number;
  routerImpl: string;
  routingLogic: string;
  lmcacheEnabled: boolean;
  loraAffinity?: boolean;
  extraEngineArgs: string[];
  /** The dev node's engine image tag ('' or absent: CONFIG_VLLM_ENGINE_IMAGE_TAG). */
  engineImageTag?: string;
  /** Disaggregated prefill on this node (absent: colocated). */
  pd?: PdNode | null;
}

export interface Secrets {
  hfToken?: string;
  apiKey?: string;
}

// The simulator models opt-125m's KV footprint: 2 (K,V) x 12 layers x 768
// hidden x 2 bytes = 36 KiB per token, so a CPU buffer of N GB holds
// N GB / (36 KiB x block size) offloaded blocks.
const SIM_KV_BYTES_PER_TOKEN = 2 * 12 * 768 * 2;

/** GB in a Kubernetes quantity (10Gi, 10G, 10240Mi), for LMCache's size settings. */
export function quantityGb(quantity: string): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) throw new Error(`"${quantity}" is not a Kubernetes quantity such as 10Gi`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return (Number(m[1]) * (m[2] ? factor[m[2]] ?? 1 : 1)) / 2 ** 30;
}

export function offloadBlocks(bufferGb: number, blockSize: number): number {
  return Math.floor((bufferGb * 1024 ** 3) / (SIM_KV_BYTES_PER_TOKEN * blockSize));
}

/** The simulator's own knobs (what vLLM has no flag for); the Helm values pass them as extra args. */
export function simModelFlags(v: StackConfigVars, node: Pick<StackNodeSettings, 'lmcacheEnabled'>): string[] {
  const blockSize = need(v, 'vllm_sim_block_size');
  return [
    '--block-size', String(blockSize),
    '--kv-blocks', String(need(v, 'vllm_sim_kv_blocks')),
    '--prefill-time-per-token', ms(need(v, 'vllm_sim_prefill_time_per_token_us')),
    '--inter-token-latency', ms(need(v, 'vllm_sim_inter_token_latency_us')),
    '--load-factor', String(need(v, 'vllm_sim_load_factor_pct') / 100),
    '--seed', String(need(v, 'vllm_sim_seed')),
    ...(v.vllm_lora_enabled ? ['--lora-swap-time', String(need(v, 'vllm_sim_lora_swap_time_ms'))] : []),
    ...((v.vllm_sim_prefill_chunk_tokens ?? 0) > 0 ? ['--max-num-batched-tokens', String(v.vllm_sim_prefill_chunk_tokens)] : []),
    ...(node.lmcacheEnabled ? [
      '--offload-blocks', String(offloadBlocks(need(v, 'vllm_lmcache_cpu_buffer_size'), blockSize)),
      '--offload-time-per-token', ms(need(v, 'vllm_sim_offload_time_per_token_us')),
    ] : []),
  ];
}

/** vLLM's LoRA flags shared by every engine (each one's adapters come per engine: loraModuleArgs). */
export function loraEngineFlags(v: StackConfigVars): string[] {
  return v.vllm_lora_enabled ? ['--enable-lora', '--max-loras', String(need(v, 'vllm_lora_max_loras'))] : [];
}

function simFlags(v: StackConfigVars, node: StackNodeSettings): string[] {
  return [
    '--max-model-len', String(v.vllm_max_model_len),
    '--max-num-seqs', String(v.vllm_max_num_seqs),
    ...loraEngineFlags(v),
    ...simModelFlags(v, node),
    v.vllm_enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching',
    ...node.extraEngineArgs,
  ];
}

function vllmFlags(v: StackConfigVars, node: StackNodeSettings): string[] {
  return [
    '--max-model-len', String(v.vllm_max_model_len),
    '--max-num-seqs', String(v.vllm_max_num_seqs),
    '--dtype', need(v, 'vllm_dtype'),
    '--tensor-parallel-size', String(need(v, 'vllm_tensor_parallel_size')),
    ...(v.vllm_use_cpu_inference ? [] : ['--gpu-memory-utilization', (need(v, 'vllm_gpu_memory_utilization') / 100).toFixed(2)]),
    v.vllm_enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching',
    ...(v.vllm_enable_chunked_prefill ? ['--enable-chunked-prefill'] : []),
    ...loraEngineFlags(v),
    ...(node.lmcacheEnabled ? ['--kv-transfer-config', JSON.stringify({ kv_connector: 'LMCacheConnectorV1', kv_role: 'kv_both' })] : []),
    ...node.extraEngineArgs,
  ];
}

function engineEnv(v: StackConfigVars, node: StackNodeSettings, secrets: Secrets): Record<string, string> {
  const env: Record<string, string> = {};
  if (secrets.hfToken) env.HF_TOKEN = secrets.hfToken;
  if (secrets.apiKey) env.VLLM_API_KEY = secrets.apiKey;
  if (v.vllm_lora_enabled && v.vllm_lora_runtime_updating) env.VLLM_ALLOW_RUNTIME_LORA_UPDATING = 'True';
  if (v.vllm_engine === 'vllm' && node.lmcacheEnabled) {
    env.LMCACHE_LOCAL_CPU = 'True';
    env.LMCACHE_MAX_LOCAL_CPU_SIZE = String(need(v, 'vllm_lmcache_cpu_buffer_size'));
    const disk = v.vllm_lmcache_disk_buffer_size ?? '';
    if (disk !== '') {
      env.LMCACHE_LOCAL_DISK = `file://${node.workDir}/lmcache-disk/`;
      env.LMCACHE_MAX_LOCAL_DISK_SIZE = String(quantityGb(disk));
    }
  }
  return env;
}

/** A configured node path: ~/ is the home of the user running the node tool, there. */
export function nodePath(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? `${home}/${path.slice(2)}` : path;
}

/**
 * How real vLLM runs on a local node, or null (the simulator; Kubernetes; a
 * configuration written before the install choice, which ran `vllm` from PATH).
 */
export function vllmRuntime(v: StackConfigVars, node: StackNodeSettings, home: string): VllmRuntime | null {
  if (v.vllm_engine !== 'vllm' || v.vllm_engine_install === undefined) return null;
  const install: VllmRuntime['install'] = v.vllm_engine_install === 'venv'
    ? { kind: 'venv', venvDir: nodePath(need(v, 'vllm_venv_dir'), home), version: need(v, 'vllm_version') }
    : v.vllm_engine_install === 'container'
      ? { kind: 'container', runtime: need(v, 'vllm_container_runtime'), image: `${need(v, 'vllm_engine_image_repo')}:${node.engineImageTag ? node.engineImageTag : need(v, 'vllm_engine_image_tag')}` }
      : { kind: 'path' };
  const gpusPerEngine = v.vllm_use_cpu_inference ? 0 : need(v, 'vllm_request_gpu');
  const maxReplicas = Math.max(v.vllm_replica_count, v.vllm_autoscaling_enabled ? need(v, 'vllm_autoscaling_max_replicas') : 0);
  return {
    install,
    hfCacheDir: nodePath(need(v, 'vllm_hf_cache_dir'), home),
    gpusPerEngine,
    // Nodes on this machine (A/B without declared hosts) must not share GPUs; a declared host has its own.
    firstGpu: node.host === null ? (node.index ?? 0) * gpusPerEngine * maxReplicas : 0,
  };
}

export function nodePlan(v: StackConfigVars, node: StackNodeSettings, secrets: Secrets = {}, home: string = homedir()): NodePlan {
  const kind = v.vllm_engine === 'vllm' ? 'vllm' : 'sim';
  return {
    node: node.name,
    role: node.role,
    workDir: node.workDir,
    stateDir: node.stateDir,
    // A declared host's router must be reachable from the controller.
    routerHost: node.host === null ? '127.0.0.1' : '0.0.0.0',
    routerPort: node.routerPort,
    enginePortBase: node.enginePortBase,
    replicas: v.vllm_replica_count,
    maxReplicas: Math.max(v.vllm_replica_count, v.vllm_autoscaling_enabled ? need(v, 'vllm_autoscaling_max_replicas') : 0),
    engine: {
      kind,
      modelUrl: v.vllm_model_url,
      servedModelName: v.vllm_model_name === '' ? v.vllm_model_url : v.vllm_model_name,
      lmcacheEnabled: node.lmcacheEnabled,
      lora: loraPlan(v),
      flags: kind === 'sim' ? simFlags(v, node) : vllmFlags(v, node),
      env: engineEnv(v, node, secrets),
      vllm: vllmRuntime(v, node, home),
      // Loading real weights takes minutes; the simulator starts in well under a second.
      readyTimeoutMs: kind === 'sim' ? 30_000 : 900_000,
      // Long enough for a long generation to finish; a stuck request must not block a scale-down for ever.
      drainTimeoutMs: 120_000,
    },
    router: v.vllm_router_enabled ? {
      impl: node.routerImpl === 'production-stack' ? 'production-stack' : 'builtin',
      // A disaggregating node's router splits requests between its pools whatever CONFIG_VLLM_ROUTING_LOGIC says.
      routingLogic: node.pd ? node.pd.routingLogic : node.routingLogic,
      sessionKey: need(v, 'vllm_router_session_key'),
      engineStatsInterval: need(v, 'vllm_router_engine_stats_interval'),
      requestStatsWindow: need(v, 'vllm_router_request_stats_window'),
      outlierConsecutive5xx: need(v, 'vllm_router_outlier_consecutive_5xx'),
      requestTimeout: need(v, 'vllm_router_request_timeout'),
      maxConcurrency: need(v, 'vllm_router_max_concurrency'),
      loraAffinity: (v.vllm_lora_enabled ?? false) && (node.loraAffinity ?? false),
      env: secrets.apiKey ? { VLLM_API_KEY: secrets.apiKey } : {},
    } : null,
    pd: node.pd ? {
      prefill: node.pd.prefill, decode: node.pd.decode, routingLogic: node.pd.routingLogic,
      kvTransferTokensPerSecond: kind === 'sim' ? need(v, 'vllm_sim_kv_transfer_tokens_per_sec') : null,
      kvPortBase: kvPort(node.enginePortBase, 0),
    } : null,
    prometheus: v.vllm_observability_enabled ? {
      port: node.prometheusPort,
      scrapeIntervalSeconds: need(v, 'vllm_prometheus_scrape_interval'),
      alertThresholds: {
        errorRatePct: need(v, 'vllm_alert_error_rate_pct'),
        ttftP95Ms: need(v, 'vllm_alert_ttft_p95_ms'),
        kvCacheUsagePct: need(v, 'vllm_alert_kv_cache_usage_pct'),
        queueDepth: need(v, 'vllm_alert_queue_depth'),
      },
    } : null,
  };
}
