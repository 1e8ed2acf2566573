// vLLM's /metrics, by vLLM's names and buckets, label model_name, in a
// registry of the simulator's own.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const REQUEST_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

export interface EngineState {
  running(): number;
  waiting(): number;
  kvUsage(): number;
}

export class EngineMetrics {
  readonly registry = new Registry();
  readonly promptTokens;
  readonly generationTokens;
  readonly success;
  readonly cacheQueries;
  readonly cacheHits;
  readonly gpuCacheQueries;
  readonly gpuCacheHits;
  readonly lmcacheRequested;
  readonly lmcacheHit;
  readonly ttft;
  readonly itl;
  readonly tpot;
  readonly tpotRequest;
  readonly e2e;
  readonly queue;
  readonly prefill;
  readonly decode;
  readonly promptHist;
  readonly generationHist;

  constructor(model: string, state: EngineState, cache: { blockSize: number; kvBlocks: number; prefixCaching: boolean }) {
    const r = this.registry;
    const labels = { model_name: model };
    const gauge = (name: string, help: string, read: () => number) => new Gauge({
      name, help, labelNames: ['model_name'], registers: [r],
      collect() { this.set(labels, read()); },
    });
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', () => state.running());
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', () => state.waiting());
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', () => state.kvUsage());
    gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage (older name).', () => state.kvUsage());
    let hitRate = 0;
    gauge('vllm:gpu_prefix_cache_hit_rate', 'GPU prefix cache block hit rate (older name).', () => hitRate);
    const counter = (name: string, help: string, extra: string[] = []) =>
      new Counter({ name, help, labelNames: ['model_name', ...extra], registers: [r] });
    const ctr = (name: string, help: string) => counter(name, help).labels(labels);
    this.promptTokens = ctr('vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = ctr('vllm:generation_tokens_total', 'Number of generation tokens processed.');
    this.success = counter('vllm:request_success_total', 'Count of successfully processed requests.', ['finished_reason']);
    this.cacheQueries = ctr('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.');
    this.cacheHits = ctr('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.');
    this.gpuCacheQueries = ctr('vllm:gpu_prefix_cache_queries_total', 'GPU prefix cache queries in tokens (older name).');
    this.gpuCacheHits = ctr('vllm:gpu_prefix_cache_hits_total', 'GPU prefix cache hits in tokens (older name).');
    this.lmcacheRequested = ctr('lmcache:num_requested_tokens_total', 'Prompt tokens looked up in the offload tier.');
    this.lmcacheHit = ctr('lmcache:num_hit_tokens_total', 'Prompt tokens found in the offload tier.');
    let queried = 0;
    let hit = 0;
    this.recordCacheLookup = (q, h) => {
      queried += q;
      hit += h;
      hitRate = queried === 0 ? 0 : hit / queried;
    };
    const hist = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name, help, buckets, labelNames: ['model_name'], registers: [r] }).labels(labels);
    this.ttft = hist('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
    this.itl = hist('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', TPOT_BUCKETS);
    this.tpot = hist('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', TPOT_BUCKETS);
    this.tpotRequest = hist('vllm:request_time_per_output_token_seconds', 'Histogram of time_per_output_token_seconds per request.', TPOT_BUCKETS);
    this.e2e = hist('vllm:e2e_request_latency_seconds', 'Histogram of end to end request latency in seconds.', REQUEST_BUCKETS);
    this.queue = hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_BUCKETS);
    this.prefill = hist('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_BUCKETS);
    this.decode = hist('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_BUCKETS);
    this.promptHist = hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', TOKEN_BUCKETS);
    this.generationHist = hist('vllm:request_generation_tokens', 'Number of generation tokens processed.', TOKEN_BUCKETS);
    new Gauge({ name: 'vllm:cache_config_info', help: 'Information of the LLMEngine CacheConfig.', labelNames: ['block_size', 'num_gpu_blocks', 'enable_prefix_caching'], registers: [r] })
      .set({ block_size: String(cache.blockSize), num_gpu_blocks: String(cache.kvBlocks), enable_prefix_caching: cache.prefixCaching ? 'True' : 'False' }, 1);
  }

  /** Counts a prefix-cache lookup of `queried` tokens of which `hit` were cached. */
  recordCacheLookup: (queried: number, hit: number) => void;
}
