// The engines' own counters every reader in the harness uses (suites,
// benchmark, status, the local stack's drain), by their /metrics names:
// vLLM's (the simulator serves the same), LMCache's, and the simulator's own
// LoRA and disaggregated-prefill series. Where vLLM renamed a metric, the
// newer name comes first and the older one still counts.

export const ENGINE_COUNTERS = {
  /** Completed requests. */
  requestSuccess: ['vllm:request_success_total'],
  /** Requests admitted to run: vLLM observes the prompt-length histogram at the end. */
  requestsAdmitted: ['vllm:request_prompt_tokens_count'],
  promptTokens: ['vllm:prompt_tokens_total'],
  generationTokens: ['vllm:generation_tokens_total'],
  prefixCacheQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
  prefixCacheHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
  /** LMCache: prompt tokens looked up in the offload tier, and found there. */
  offloadRequestedTokens: ['lmcache:num_requested_tokens_total', 'lmcache:num_requested_tokens'],
  offloadHitTokens: ['lmcache:num_hit_tokens_total', 'lmcache:num_hit_tokens'],
  running: ['vllm:num_requests_running'],
  waiting: ['vllm:num_requests_waiting'],
  kvCacheUsage: ['vllm:kv_cache_usage_perc'],
} as const satisfies Record<string, readonly string[]>;

/** vLLM's cache configuration, as labels (block_size, num_gpu_blocks) of an info gauge. */
export const CACHE_CONFIG_INFO = 'vllm:cache_config_info';

/** The simulator's per-adapter series (label lora_name); vLLM exports none. */
export const SIM_LORA_COUNTERS = {
  requests: 'vllm_sim:lora_requests_total',
  swaps: 'vllm_sim:lora_swaps_total',
  ttftSecondsSum: 'vllm_sim:lora_time_to_first_token_seconds_sum',
  ttftSecondsCount: 'vllm_sim:lora_time_to_first_token_seconds_count',
} as const;

/** The simulator's disaggregated-prefill series. */
export const SIM_PD_COUNTERS = {
  prefillOnly: 'engine_sim:pd_prefill_only_requests_total',
  decodesWithKv: 'engine_sim:pd_decodes_with_transferred_kv_total',
  recomputed: 'engine_sim:pd_recomputed_requests_total',
  transfers: 'engine_sim:pd_kv_transfers_total',
  transferSeconds: 'engine_sim:pd_kv_transfer_seconds_total',
} as const;
