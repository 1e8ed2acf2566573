// A node's plan, whatever its target (the local processes, a Helm release):
// what to run, where, and on which ports, as plain data. config/node-plan.ts
// builds it from the configuration by a pure function, so that the command
// lines and values a configuration produces are unit-tested without processes.

/** LoRA adapters (CONFIG_VLLM_LORA_*), as config/lora.ts plans them. */
export interface LoraAdapterConfig {
  name: string;
  path: string;
  /** On how many engines; null: all of them. */
  engines: number | null;
}

export interface LoraPlan {
  adapters: LoraAdapterConfig[];
  maxLoras: number;
  runtimeUpdating: boolean;
}

export type EngineKind = 'sim' | 'vllm';

/**
 * How real vLLM runs on the node (CONFIG_VLLM_ENGINE_INSTALL): the vllm on
 * PATH, a venv's, or the engine image under docker/podman. Paths are the
 * node's own (a ~ already resolved there).
 */
export type VllmInstall =
  | { kind: 'path' }
  | { kind: 'venv'; venvDir: string; version: string }
  | { kind: 'container'; runtime: 'docker' | 'podman'; image: string };

export interface VllmRuntime {
  install: VllmInstall;
  /** HF_HOME of vllm serve, or the directory mounted at the container's /root/.cache/huggingface. */
  hfCacheDir: string;
  /** GPUs each engine has to itself (0: CPU inference); engine i gets firstGpu + i*perEngine onwards. */
  gpusPerEngine: number;
  firstGpu: number;
}
export type RouterImpl = 'builtin' | 'production-stack';

export interface EngineSettings {
  kind: EngineKind;
  modelUrl: string;
  /** The name clients put in `model`. */
  servedModelName: string;
  /** The engines offload KV blocks to CPU memory (LMCache, or the simulator's offload tier). */
  lmcacheEnabled: boolean;
  /** Flags shared by every engine of the node (not host, port or instance id). */
  flags: string[];
  /** LoRA adapters: each engine loads its share at start (--lora-modules); null: LoRA off. */
  lora?: LoraPlan | null;
  /** Extra environment for the engine processes (HF token, LMCache settings). */
  env: Record<string, string>;
  /** Real vLLM only: how it is installed and which GPUs each engine gets; absent: `vllm` on PATH, no GPU pinning (records written before). */
  vllm?: VllmRuntime | null;
  readyTimeoutMs: number;
  /** A graceful stop waits this long for the engine's running and waiting requests, then stops it anyway. */
  drainTimeoutMs: number;
}

export interface RouterSettings {
  impl: RouterImpl;
  routingLogic: string;
  sessionKey: string;
  engineStatsInterval: number;
  requestStatsWindow: number;
  /** This project's router only: eject an engine after this many 5xx answers in a row (0 = never). */
  outlierConsecutive5xx: number;
  /** Seconds an engine may take to send response headers before the client gets 504 (builtin router only). */
  requestTimeout: number;
  /** Proxied requests in flight before 429 (builtin router only). */
  maxConcurrency: number;
  /** This project's router only: prefer engines whose GPU slots likely hold the adapter (--lora-affinity). */
  loraAffinity?: boolean;
  /** Environment for the router (the engines' API key). */
  env: Record<string, string>;
}

/** Disaggregated prefill: engines 0..prefill-1 prefill, the others (scaled ones too) decode. */
export interface PdSettings {
  prefill: number;
  decode: number;
  /** The router's logic: disaggregated_prefill (KV pushed) or disaggregated_prefill_orchestrated (KV pulled). */
  routingLogic: string;
  /** Simulator: modelled KV bandwidth (--kv-transfer-tokens-per-second); null for vLLM. */
  kvTransferTokensPerSecond: number | null;
  /** Engine i's KV side channel listens on kvPortBase + i. */
  kvPortBase: number;
}

export type EngineRole = 'colocated' | 'prefill' | 'decode';

/** The router's model labels of the two pools (--static-model-labels, --prefill/decode-model-labels). */
export const PD_LABELS: Record<'prefill' | 'decode', string> = { prefill: 'prefill', decode: 'decode' };

/** The alert rules' tunable thresholds (observability/alert-rules.ts writes them into the rules). */
export interface AlertThresholds {
  /** Percent of requests that fail. */
  errorRatePct: number;
  ttftP95Ms: number;
  kvCacheUsagePct: number;
  /** Requests waiting at one engine. */
  queueDepth: number;
}

export interface PrometheusSettings {
  port: number;
  scrapeIntervalSeconds: number;
  alertThresholds: AlertThresholds;
}

export interface NodePlan {
  node: string;
  role: 'baseline' | 'dev';
  workDir: string;
  /** Where the project keeps this node's deployment record and lock (<project>/.deployed). */
  stateDir: string;
  /** Address the router listens on; engines always listen on loopback. */
  routerHost: string;
  routerPort: number;
  enginePortBase: number;
  replicas: number;
  /** Highest replica count scaling may reach; ports up to base + max - 1 are reserved. */
  maxReplicas: number;
  engine: EngineSettings;
  /** null: no router, clients talk to the engine directly. */
  router: RouterSettings | null;
  /** null: observability off. */
  prometheus: PrometheusSettings | null;
  /** Disaggregated prefill; absent or null: every engine prefills and decodes. */
  pd?: PdSettings | null;
}

export function engineRole(spec: NodePlan, index: number): EngineRole {
  if (!spec.pd) return 'colocated';
  return index < spec.pd.prefill ? 'prefill' : 'decode';
}

export const ENGINE_HOST = '127.0.0.1';

export function engineId(index: number): string {
  return `engine-${index}`;
}

export function enginePort(spec: NodePlan, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= spec.maxReplicas) {
    throw new Error(`engine index ${index} is outside 0..${spec.maxReplicas - 1} (the node reserves ${spec.maxReplicas} engine ports)`);
  }
  return spec.enginePortBase + index;
}

/** The GPU indexes engine `index` has to itself (none on CPUs or with the simulator). */
export function engineGpus(spec: NodePlan, index: number): number[] {
  const vllm = spec.engine.vllm ?? null;
  if (vllm === null || vllm.gpusPerEngine === 0) return [];
  const first = vllm.firstGpu + index * vllm.gpusPerEngine;
  return Array.from({ length: vllm.gpusPerEngine }, (_, k) => first + k);
}

/** GPUs a node may use at once: every engine it can scale to, each with its own. */
export function nodeGpuCount(spec: NodePlan): number {
  const vllm = spec.engine.vllm ?? null;
  return vllm === null ? 0 : vllm.gpusPerEngine * spec.maxReplicas;
}

export function engineUrl(spec: NodePlan, index: number): string {
  return `http://${ENGINE_HOST}:${enginePort(spec, index)}`;
}

export function routerUrl(spec: NodePlan): string {
  const host = spec.routerHost === '0.0.0.0' ? '127.0.0.1' : spec.routerHost;
  return `http://${host}:${spec.routerPort}`;
}
