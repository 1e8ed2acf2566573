// .config -> typed extra vars: every CONFIG_VLLM_* symbol becomes
// vllm_<name in lower case>. Booleans are always present (unset = false);
// ints and strings of options hidden by their dependencies are absent.
import type { ConfigEntry } from './dotconfig.js';
import type { KconfigSymbol } from './kconfig-tree.js';
import type { Engine, PdRoutingLogic, RouterImpl, RouterServiceType, RoutingLogic, Target } from './choices.js';

export interface ExtraVars {
  vllm_target_local: boolean;
  vllm_k8s_minikube: boolean;
  vllm_k8s_existing: boolean;
  vllm_target: Target;
  vllm_k8s_context?: string;
  vllm_kubeconfig?: string;
  vllm_helm_release_name?: string;
  vllm_helm_namespace?: string;
  vllm_prod_stack_chart_repo?: string;
  vllm_prod_stack_chart_version?: string;
  vllm_prod_stack_chart_path?: string;
  vllm_helm_version?: string;
  vllm_kubectl_version?: string;
  vllm_registry_mirror?: string;
  vllm_deploy_timeout?: number;
  vllm_minikube_version?: string;
  vllm_minikube_cpus?: number;
  vllm_minikube_memory?: number;
  vllm_work_dir: string;
  vllm_declared_hosts: string;
  vllm_engine_sim: boolean;
  vllm_engine_vllm: boolean;
  vllm_engine: Engine;
  vllm_use_cpu_inference: boolean;
  vllm_engine_image_repo?: string;
  vllm_engine_image_tag?: string;
  vllm_request_cpu?: number;
  vllm_request_memory?: string;
  vllm_request_gpu?: number;
  vllm_gpu_type?: string;
  vllm_model_url: string;
  vllm_model_name: string;
  vllm_replica_count: number;
  vllm_max_model_len: number;
  vllm_dtype_auto: boolean;
  vllm_dtype_half: boolean;
  vllm_dtype_float16: boolean;
  vllm_dtype_bfloat16: boolean;
  vllm_dtype_float32: boolean;
  vllm_dtype?: string;
  vllm_gpu_memory_utilization?: number;
  vllm_tensor_parallel_size?: number;
  vllm_max_num_seqs: number;
  vllm_enable_prefix_caching: boolean;
  vllm_enable_chunked_prefill: boolean;
  vllm_hf_token_file?: string;
  vllm_api_key_file: string;
  vllm_sim_prefill_time_per_token_us?: number;
  vllm_sim_inter_token_latency_us?: number;
  vllm_sim_kv_blocks?: number;
  vllm_sim_block_size?: number;
  vllm_sim_load_factor_pct?: number;
  vllm_sim_seed?: number;
  vllm_lmcache_enabled: boolean;
  vllm_lmcache_cpu_buffer_size?: number;
  vllm_sim_offload_time_per_token_us?: number;
  vllm_lmcache_disk_buffer_size?: string;
  vllm_lora_enabled: boolean;
  vllm_lora_adapters?: string;
  vllm_lora_max_loras?: number;
  vllm_lora_runtime_updating: boolean;
  vllm_sim_lora_swap_time_ms?: number;
  vllm_router_lora_affinity: boolean;
  vllm_router_enabled: boolean;
  vllm_router_impl_builtin: boolean;
  vllm_router_impl_production_stack: boolean;
  vllm_router_impl?: RouterImpl;
  vllm_router_image?: string;
  vllm_router_tag?: string;
  vllm_router_service_cluster_ip: boolean;
  vllm_router_service_node_port: boolean;
  vllm_router_service_load_balancer: boolean;
  vllm_router_service_type?: RouterServiceType;
  vllm_router_round_robin: boolean;
  vllm_router_session_affinity: boolean;
  vllm_router_prefix_aware: boolean;
  vllm_router_least_loaded: boolean;
  vllm_routing_logic?: RoutingLogic;
  vllm_router_session_key?: string;
  vllm_router_engine_stats_interval?: number;
  vllm_router_request_stats_window?: number;
  vllm_router_outlier_consecutive_5xx?: number;
  vllm_router_request_timeout?: number;
  vllm_router_max_concurrency?: number;
  vllm_pd_enabled: boolean;
  vllm_dev_pd_on: boolean;
  vllm_pd_prefill_engines?: number;
  vllm_pd_decode_engines?: number;
  vllm_pd_protocol_nixl_push: boolean;
  vllm_pd_protocol_orchestrated: boolean;
  vllm_pd_routing_logic?: PdRoutingLogic;
  vllm_sim_kv_transfer_tokens_per_sec?: number;
  vllm_sim_prefill_chunk_tokens?: number;
  vllm_api_port: number;
  vllm_observability_enabled: boolean;
  vllm_prometheus_port?: number;
  vllm_grafana_port?: number;
  vllm_prometheus_scrape_interval?: number;
  vllm_alert_error_rate_pct?: number;
  vllm_alert_ttft_p95_ms?: number;
  vllm_alert_kv_cache_usage_pct?: number;
  vllm_alert_queue_depth?: number;
  vllm_autoscaling_enabled: boolean;
  vllm_autoscaling_min_replicas?: number;
  vllm_autoscaling_max_replicas?: number;
  vllm_autoscaling_waiting_threshold?: number;
  vllm_test_api: boolean;
  vllm_test_routing: boolean;
  vllm_test_scaling: boolean;
  vllm_test_lmcache: boolean;
  vllm_test_lora: boolean;
  vllm_test_pd: boolean;
  vllm_test_faults: boolean;
  vllm_test_load_rate: number;
  vllm_test_case_seconds: number;
  vllm_test_tolerance_pct: number;
  vllm_benchmark_enabled: boolean;
  vllm_benchmark_duration?: number;
  vllm_benchmark_warmup_requests?: number;
  vllm_benchmark_repeats?: number;
  vllm_benchmark_multi_round_qa: boolean;
  vllm_benchmark_concurrent_users?: number;
  vllm_benchmark_rounds?: number;
  vllm_benchmark_system_prompt_len?: number;
  vllm_benchmark_history_len?: number;
  vllm_benchmark_answer_len?: number;
  vllm_benchmark_qps?: number;
  vllm_benchmark_serving: boolean;
  vllm_benchmark_serving_request_rate?: number;
  vllm_benchmark_serving_burstiness_pct?: number;
  vllm_benchmark_serving_max_concurrency?: number;
  vllm_benchmark_serving_input_len?: number;
  vllm_benchmark_serving_output_len?: number;
  vllm_benchmark_lora?: boolean;
  vllm_benchmark_lora_request_rate?: number;
  vllm_benchmark_lora_base_pct?: number;
  vllm_benchmark_pd_mix: boolean;
  vllm_benchmark_pd_mix_request_rate?: number;
  vllm_benchmark_pd_mix_long_pct?: number;
  vllm_benchmark_pd_mix_long_input_len?: number;
  vllm_benchmark_pd_mix_long_output_len?: number;
  vllm_benchmark_pd_mix_short_input_len?: number;
  vllm_benchmark_pd_mix_short_output_len?: number;
  vllm_benchmark_slo_ttft_ms?: number;
  vllm_benchmark_slo_tpot_ms?: number;
  vllm_benchmark_slo_e2el_ms?: number;
  vllm_benchmark_results_dir: string;
  vllm_baseline_and_dev: boolean;
  vllm_dev_router_impl_same: boolean;
  vllm_dev_router_impl_builtin: boolean;
  vllm_dev_router_impl_production_stack: boolean;
  vllm_dev_router_impl?: RouterImpl | '';
  vllm_dev_routing_same: boolean;
  vllm_dev_routing_round_robin: boolean;
  vllm_dev_routing_session_affinity: boolean;
  vllm_dev_routing_prefix_aware: boolean;
  vllm_dev_routing_least_loaded: boolean;
  vllm_dev_routing_logic?: RoutingLogic | '';
  vllm_dev_engine_image_tag?: string;
  vllm_dev_lmcache_same: boolean;
  vllm_dev_lmcache_on: boolean;
  vllm_dev_lmcache_off: boolean;
  vllm_dev_lmcache_enabled?: string;
  vllm_dev_lora_affinity: boolean;
  vllm_dev_extra_engine_args?: string;
  vllm_ab_max_ttft_regression_pct: number;
  vllm_ab_max_itl_regression_pct: number;
  vllm_ab_max_e2el_regression_pct: number;
  vllm_ab_max_tail_regression_pct: number;
  vllm_ab_max_throughput_regression_pct: number;
  vllm_ab_max_error_rate_increase_pct: number;
}

export function varName(symbol: string): string {
  return `vllm_${symbol.replace(/^VLLM_/, '').toLowerCase()}`;
}

export function symbolName(variable: string): string {
  return `VLLM_${variable.replace(/^vllm_/, '').toUpperCase()}`;
}

/** The extra vars of a .config; values are typed by the Kconfig declaration, not by their look. */
export function toExtraVars(entries: Map<string, ConfigEntry>, tree: Map<string, KconfigSymbol>): Record<string, boolean | number | string> {
  const vars: Record<string, boolean | number | string> = {};
  for (const sym of tree.values()) {
    const entry = entries.get(sym.name);
    if (sym.type === 'bool') {
      vars[varName(sym.name)] = entry?.value === true;
    } else if (entry !== undefined) {
      vars[varName(sym.name)] = sym.type === 'int' ? Number(entry.value) : String(entry.value);
    }
  }
  return vars;
}
