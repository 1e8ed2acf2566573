// Configuration (extra vars + the node's settings) -> LocalStackSpec: every
// option that shapes a local deployment is read here and nowhere else.
import type { LocalStackSpec } from './local-stack-spec.js';

/** The configuration variables a local deployment reads (a subset of ExtraVars). */
export interface StackConfigVars {
  vllm_engine: string;
  vllm_model_url: string;
  vllm_model_name: string;
  vllm_replica_count: number;
  vllm_max_model_len: number;
  vllm_max_num_seqs: number;
  vllm_dtype: string;
  vllm_gpu_memory_utilization: string;
  vllm_tensor_parallel_size: number;
  vllm_enable_prefix_caching: boolean;
  vllm_enable_chunked_prefill: boolean;
  vllm_use_cpu_inference: boolean;
  vllm_sim_prefill_time_per_token: number;
  vllm_sim_inter_token_latency: number;
  vllm_sim_kv_blocks: number;
  vllm_sim_block_size: number;
  vllm_sim_load_factor: number;
  vllm_sim_seed: number;
  vllm_lmcache_cpu_buffer_size: number;
  vllm_router_enabled: boolean;
  vllm_router_session_key: string;
  vllm_router_engine_stats_interval: number;
  vllm_router_request_stats_window: number;
  vllm_observability_enabled: boolean;
  vllm_autoscaling_enabled: boolean;
  vllm_autoscaling_max_replicas: number;
}

export interface StackNodeSettings {
  name: string;
  role: 'baseline' | 'dev';
  host: string | null;
  workDir: string;
  routerPort: number;
  enginePortBase: number;
  prometheusPort: number;
  routerImpl: string;
  routingLogic: string;
  lmcacheEnabled: boolean;
  extraEngineArgs: string[];
}

export interface Secrets {
  hfToken?: string;
  apiKey?: string;
}

// The simulator models opt-125m's KV footprint: 2 (K,V) x 12 layers x 768
// hidden x 2 bytes = 36 KiB per token, so a CPU buffer of N GB holds
// N GB / (36 KiB x block size) offloaded blocks.
const SIM_KV_BYTES_PER_TOKEN = 2 * 12 * 768 * 2;

export function offloadBlocks(bufferGb: number, blockSize: number): number {
  return Math.floor((bufferGb * 1024 ** 3) / (SIM_KV_BYTES_PER_TOKEN * blockSize));
}

function simFlags(v: StackConfigVars, node: StackNodeSettings): string[] {
  return [
    '--max-model-len', String(v.vllm_max_model_len),
    '--max-num-seqs', String(v.vllm_max_num_seqs),
    '--block-size', String(v.vllm_sim_block_size),
    '--kv-blocks', String(v.vllm_sim_kv_blocks),
    '--prefill-time-per-token', String(v.vllm_sim_prefill_time_per_token),
    '--inter-token-latency', String(v.vllm_sim_inter_token_latency),
    '--load-factor', String(v.vllm_sim_load_factor),
    '--seed', String(v.vllm_sim_seed),
    v.vllm_enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching',
    ...(node.lmcacheEnabled ? ['--offload-blocks', String(offloadBlocks(v.vllm_lmcache_cpu_buffer_size, v.vllm_sim_block_size))] : []),
    ...node.extraEngineArgs,
  ];
}

function vllmFlags(v: StackConfigVars, node: StackNodeSettings): string[] {
  return [
    '--max-model-len', String(v.vllm_max_model_len),
    '--max-num-seqs', String(v.vllm_max_num_seqs),
    '--dtype', v.vllm_dtype,
    '--tensor-parallel-size', String(v.vllm_tensor_parallel_size),
    '--seed', String(v.vllm_sim_seed),
    ...(v.vllm_use_cpu_inference ? [] : ['--gpu-memory-utilization', v.vllm_gpu_memory_utilization]),
    v.vllm_enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching',
    ...(v.vllm_enable_chunked_prefill ? ['--enable-chunked-prefill'] : []),
    ...(node.lmcacheEnabled ? ['--kv-transfer-config', JSON.stringify({ kv_connector: 'LMCacheConnectorV1', kv_role: 'kv_both' })] : []),
    ...node.extraEngineArgs,
  ];
}

function engineEnv(v: StackConfigVars, node: StackNodeSettings, secrets: Secrets): Record<string, string> {
  const env: Record<string, string> = {};
  if (secrets.hfToken) env.HF_TOKEN = secrets.hfToken;
  if (secrets.apiKey) env.VLLM_API_KEY = secrets.apiKey;
  if (v.vllm_engine === 'vllm' && node.lmcacheEnabled) {
    env.LMCACHE_LOCAL_CPU = 'True';
    env.LMCACHE_MAX_LOCAL_CPU_SIZE = String(v.vllm_lmcache_cpu_buffer_size);
    env.LMCACHE_CHUNK_SIZE = '256';
  }
  return env;
}

export function localStackSpec(v: StackConfigVars, node: StackNodeSettings, secrets: Secrets = {}): LocalStackSpec {
  const kind = v.vllm_engine === 'vllm' ? 'vllm' : 'sim';
  return {
    node: node.name,
    role: node.role,
    workDir: node.workDir,
    // A declared host's router must be reachable from the controller.
    routerHost: node.host === null ? '127.0.0.1' : '0.0.0.0',
    routerPort: node.routerPort,
    enginePortBase: node.enginePortBase,
    replicas: v.vllm_replica_count,
    maxReplicas: Math.max(v.vllm_replica_count, v.vllm_autoscaling_enabled ? v.vllm_autoscaling_max_replicas : 0),
    engine: {
      kind,
      modelUrl: v.vllm_model_url,
      servedModelName: v.vllm_model_name === '' ? v.vllm_model_url : v.vllm_model_name,
      lmcacheEnabled: node.lmcacheEnabled,
      flags: kind === 'sim' ? simFlags(v, node) : vllmFlags(v, node),
      env: engineEnv(v, node, secrets),
      // Loading real weights takes minutes; the simulator starts in well under a second.
      readyTimeoutMs: kind === 'sim' ? 30_000 : 900_000,
    },
    router: v.vllm_router_enabled ? {
      impl: node.routerImpl === 'production-stack' ? 'production-stack' : 'builtin',
      routingLogic: node.routingLogic,
      sessionKey: v.vllm_router_session_key,
      engineStatsInterval: v.vllm_router_engine_stats_interval,
      requestStatsWindow: v.vllm_router_request_stats_window,
      env: secrets.apiKey ? { VLLM_API_KEY: secrets.apiKey } : {},
    } : null,
    prometheus: v.vllm_observability_enabled ? { port: node.prometheusPort, scrapeIntervalSeconds: 5 } : null,
  };
}
