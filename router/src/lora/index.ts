// LoRA adapters in the router: per-engine adapter lists and likely residency, and adapter affinity.
export { EngineAdapters } from './engine-adapters.js';
export { parseLoraInfo, type LoraInfo } from './lora-metrics.js';
export { preferResident, LORA_AFFINITY_SLACK } from './affinity.js';

/** Engine routes that change its adapters: the router sends them to the engine named by ?id= and re-reads its models after. */
export const LORA_ADMIN_ROUTES = ['/v1/load_lora_adapter', '/v1/unload_lora_adapter'] as const;
