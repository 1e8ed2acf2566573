// Command-line options of vllm-engine-sim: vLLM's own flag names where the
// concept exists, simulator knobs otherwise. Time flags are milliseconds.
import { parseArgs } from 'node:util';
import type { LatencySettings } from './latency.js';
import { checkLoraSettings, expandLoraModules, LORA_DEFAULTS, parseLoraModule, runtimeUpdatingAllowed, type LoraSettings } from './lora/modules.js';
import { parseKvRole, parsePeers, PD_DEFAULTS, type PdSettings } from './pd/kv-config.js';

export const FAILURE_KINDS = ['429', '500', '503', 'reset'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Everything the flags set; the latency settings are the ones the admin endpoint can change at run time. */
export interface EngineSimOptions extends LatencySettings, PdSettings {
  host: string;
  port: number;
  model: string;
  servedModelNames: string[];
  instanceId: string;
  maxModelLen: number;
  maxNumSeqs: number;
  maxWaiting: number;
  blockSize: number;
  kvBlocks: number;
  offloadBlocks: number;
  prefixCaching: boolean;
  seed: number;
  failureRate: number;
  failureKinds: FailureKind[];
  echo: boolean;
  maxBodySize: number;
  apiKey: string | null;
  shutdownTimeout: number;
  lora: LoraSettings;
  /** VLLM_ALLOW_RUNTIME_LORA_UPDATING: the load and unload routes exist. */
  loraRuntimeUpdating: boolean;
}

export const DEFAULTS: EngineSimOptions = {
  host: '127.0.0.1', port: 8000, model: 'facebook/opt-125m', servedModelNames: [], instanceId: '',
  maxModelLen: 2048, maxNumSeqs: 256, maxWaiting: 1024, blockSize: 16, kvBlocks: 4096, offloadBlocks: 0,
  prefixCaching: true, prefillOverhead: 5, prefillTimePerToken: 0.2, offloadTimePerToken: 0.02,
  interTokenLatency: 10, loadFactor: 1.5, jitter: 0, timeScale: 1, seed: 42, failureRate: 0,
  failureKinds: ['500'], echo: false, maxBodySize: 4 * 1024 * 1024, apiKey: null, shutdownTimeout: 5000,
  lora: LORA_DEFAULTS, loraRuntimeUpdating: false,
  ...PD_DEFAULTS,
};

export const USAGE = `usage: vllm-engine-sim [options]

A vLLM-compatible serving engine for CPU-only testing: OpenAI API (streaming
too), vLLM's /metrics, a block-hashed prefix cache, an optional CPU offload
tier, request queueing and a load-dependent latency model.

  --host HOST                       listen address (default 127.0.0.1; containers use 0.0.0.0)
  --port N                          listen port, 0 = any free one (default 8000)
  --model ID                        model id (default facebook/opt-125m)
  --served-model-name A[,B]         names clients use (default: the model id)
  --instance-id ID                  name in the x-engine-instance-id header (default sim-<port>)
  --max-model-len N                 prompt + completion limit in tokens (default 2048)
  --max-num-seqs N                  requests running at once (default 256)
  --max-waiting N                   requests waiting beyond those; more get 429 (default 1024)
  --block-size N                    tokens per KV block (default 16)
  --kv-blocks N                     GPU-tier prefix cache capacity in blocks (default 4096)
  --offload-blocks N                CPU offload tier capacity in blocks, 0 = none (default 0)
  --enable-prefix-caching           reuse cached prefix blocks (default)
  --no-enable-prefix-caching, --no-prefix-caching
  --prefill-overhead MS             fixed time before the first token (default 5)
  --prefill-time-per-token MS       per uncached prompt token (default 0.2)
  --offload-time-per-token MS       per prompt token found in the offload tier (default 0.02)
  --inter-token-latency MS          between output tokens (default 10)
  --load-factor F                   slowdown with max-num-seqs running, 1 = none (default 1.5)
  --jitter F                        relative spread of latencies, 0 = none (default 0)
  --time-scale F                    multiplies every delay, 0 = answer at once (default 1)
  --seed N                          seed of text and jitter (default 42)
  --failure-rate F                  share of requests that fail on purpose, 0..1 (default 0)
  --failure-kinds K[,K]             429, 500, 503, reset (default 500)
  --echo                            answer with the words of the last user message (or prompt) instead of generated text
  --max-body-size BYTES             larger bodies get 413 (default 4194304)
  --api-key KEY                     require Authorization: Bearer KEY (also VLLM_API_KEY)
  --shutdown-timeout MS             on SIGTERM, how long in-flight requests may finish (default 5000)
  --enable-lora                     serve LoRA adapters (requests name one as their model)
  --lora-modules NAME=PATH|JSON ... adapters to serve from the start; JSON: {"name","path","base_model_name"}
  --max-loras N                     adapters on the GPU at once (default 1)
  --max-cpu-loras N                 adapters in the CPU cache, at least --max-loras (default: --max-loras)
  --max-lora-rank N                 one of 1 8 16 32 64 128 256 320 512 (default 16); scales the swap time
  --lora-swap-time MS               bringing an adapter from the CPU cache onto the GPU, at rank 16 (default 20)
  --lora-load-time MS               reading an adapter from its path into the CPU cache (default 100)
  VLLM_ALLOW_RUNTIME_LORA_UPDATING=True  enables POST /v1/load_lora_adapter and /v1/unload_lora_adapter
  --max-num-batched-tokens N        prefill tokens one step computes beside its decodes, stretching them (default 0: not modelled)
Disaggregated prefill (vllm serve derives these from --kv-transfer-config and LMCACHE_NIXL_*):
  --kv-role none|producer|consumer|both   producer: prefill engine; consumer: decode engine (default none)
  --kv-peer HOST:PORT[,...]         a producer pushes each prefill-only request's KV there; none = hold it for pulls
  --kv-port N                       the KV side channel's port (consumer: receives pushes; producer: serves pulls), 0 = any
  --kv-transfer-tokens-per-second N modelled KV transfer bandwidth in prompt tokens/s, 0 = instant (default 200000)
  -h, --help`;

function num(name: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER, integer = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} ${text}: expected ${integer ? 'a whole number' : 'a number'} from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}`);
  }
  return value;
}

export function parseFailureKinds(text: string): FailureKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!(FAILURE_KINDS as readonly string[]).includes(k)) throw new Error(`failure kind "${k}" is not one of ${FAILURE_KINDS.join(', ')}`);
  }
  if (kinds.length === 0) throw new Error(`no failure kind given; choose from ${FAILURE_KINDS.join(', ')}`);
  return kinds as FailureKind[];
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): EngineSimOptions | 'help' {
  const s = { type: 'string' } as const;
  const b = { type: 'boolean' } as const;
  const { values: v } = parseArgs({
    args: expandLoraModules(argv), strict: true, allowPositionals: false,
    options: {
      host: s, port: s, model: s, 'served-model-name': s, 'instance-id': s, 'max-model-len': s, 'max-num-seqs': s,
      'max-waiting': s, 'block-size': s, 'kv-blocks': s, 'offload-blocks': s, 'enable-prefix-caching': b,
      'no-enable-prefix-caching': b, 'no-prefix-caching': b, 'prefill-overhead': s, 'prefill-time-per-token': s,
      'offload-time-per-token': s, 'inter-token-latency': s, 'load-factor': s, jitter: s, 'time-scale': s, seed: s,
      'failure-rate': s, 'failure-kinds': s, echo: b, 'max-body-size': s, 'api-key': s, 'shutdown-timeout': s, 'max-num-batched-tokens': s,
      'kv-role': s, 'kv-peer': s, 'kv-port': s, 'kv-transfer-tokens-per-second': s,
      'enable-lora': b, 'lora-modules': { type: 'string', multiple: true }, 'max-loras': s, 'max-cpu-loras': s, 'max-lora-rank': s,
      'lora-swap-time': s, 'lora-load-time': s, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return 'help';
  const d = DEFAULTS;
  const model = v.model ?? d.model;
  return {
    host: v.host ?? d.host,
    port: num('port', v.port, d.port, 0, 65535, true),
    model,
    servedModelNames: v['served-model-name'] ? v['served-model-name'].split(',').map((n) => n.trim()).filter(Boolean) : [model],
    instanceId: v['instance-id'] ?? '',
    maxModelLen: num('max-model-len', v['max-model-len'], d.maxModelLen, 1, 10_000_000, true),
    maxNumSeqs: num('max-num-seqs', v['max-num-seqs'], d.maxNumSeqs, 1, 100_000, true),
    maxWaiting: num('max-waiting', v['max-waiting'], d.maxWaiting, 0, 10_000_000, true),
    blockSize: num('block-size', v['block-size'], d.blockSize, 1, 4096, true),
    kvBlocks: num('kv-blocks', v['kv-blocks'], d.kvBlocks, 1, 100_000_000, true),
    offloadBlocks: num('offload-blocks', v['offload-blocks'], d.offloadBlocks, 0, 100_000_000, true),
    prefixCaching: !(v['no-enable-prefix-caching'] || v['no-prefix-caching']),
    prefillOverhead: num('prefill-overhead', v['prefill-overhead'], d.prefillOverhead, 0),
    prefillTimePerToken: num('prefill-time-per-token', v['prefill-time-per-token'], d.prefillTimePerToken, 0),
    offloadTimePerToken: num('offload-time-per-token', v['offload-time-per-token'], d.offloadTimePerToken, 0),
    interTokenLatency: num('inter-token-latency', v['inter-token-latency'], d.interTokenLatency, 0),
    loadFactor: num('load-factor', v['load-factor'], d.loadFactor, 1, 100),
    jitter: num('jitter', v.jitter, d.jitter, 0, 1),
    timeScale: num('time-scale', v['time-scale'], d.timeScale, 0, 1000),
    seed: num('seed', v.seed, d.seed, 0, 2 ** 31 - 1, true),
    failureRate: num('failure-rate', v['failure-rate'], d.failureRate, 0, 1),
    failureKinds: v['failure-kinds'] ? parseFailureKinds(v['failure-kinds']) : d.failureKinds,
    echo: v.echo ?? false,
    maxBodySize: num('max-body-size', v['max-body-size'], d.maxBodySize, 64, 1 << 30, true),
    apiKey: v['api-key'] ?? (env.VLLM_API_KEY || null),
    shutdownTimeout: num('shutdown-timeout', v['shutdown-timeout'], d.shutdownTimeout, 0, 3_600_000),
    lora: checkLoraSettings({
      enabled: v['enable-lora'] ?? false,
      modules: (v['lora-modules'] ?? []).map(parseLoraModule),
      maxLoras: num('max-loras', v['max-loras'], d.lora.maxLoras, 1, 1024, true),
      maxCpuLoras: v['max-cpu-loras'] === undefined ? null : num('max-cpu-loras', v['max-cpu-loras'], 0, 1, 100_000, true),
      maxLoraRank: num('max-lora-rank', v['max-lora-rank'], d.lora.maxLoraRank, 1, 512, true),
      swapTime: num('lora-swap-time', v['lora-swap-time'], d.lora.swapTime, 0, 600_000),
      loadTime: num('lora-load-time', v['lora-load-time'], d.lora.loadTime, 0, 600_000),
    }),
    loraRuntimeUpdating: runtimeUpdatingAllowed(env),
    maxNumBatchedTokens: num('max-num-batched-tokens', v['max-num-batched-tokens'], d.maxNumBatchedTokens, 0, 10_000_000, true),
    kvRole: v['kv-role'] === undefined ? d.kvRole : parseKvRole(v['kv-role']),
    kvPeers: v['kv-peer'] === undefined ? d.kvPeers : parsePeers(v['kv-peer']),
    kvPort: v['kv-port'] === undefined ? d.kvPort : num('kv-port', v['kv-port'], 0, 0, 65535, true),
    kvTransferTokensPerSecond: num('kv-transfer-tokens-per-second', v['kv-transfer-tokens-per-second'], d.kvTransferTokensPerSecond, 0),
  };
}
