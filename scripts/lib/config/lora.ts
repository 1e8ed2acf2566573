// The LoRA adapters of a configuration (CONFIG_VLLM_LORA_ADAPTERS: space
// separated NAME=PATH[:ENGINES]) and where each one goes: adapter k on
// engines k, k+1, ... modulo the replica count, so adapters on fewer engines
// spread out. Pure: the local stack, the Helm values, the suites and the
// benchmark all read the same plan.

import type { LoraAdapterConfig, LoraPlan } from '../vocabulary/node-plan.js';

const ITEM = /^([A-Za-z0-9][A-Za-z0-9._-]*)=([^\s:=]+)(?::([0-9]+))?$/;

/** Parses CONFIG_VLLM_LORA_ADAPTERS; throws naming the symbol, the bad item and the expected form. */
export function parseLoraAdapters(text: string): LoraAdapterConfig[] {
  const out: LoraAdapterConfig[] = [];
  for (const item of text.trim().split(/\s+/).filter(Boolean)) {
    const m = ITEM.exec(item);
    if (!m) throw new Error(`CONFIG_VLLM_LORA_ADAPTERS: "${item}" is not NAME=PATH or NAME=PATH:ENGINES (a name of letters, digits, . _ -; a path without spaces or colons; ENGINES a whole number ≥ 1)`);
    const engines = m[3] === undefined ? null : Number(m[3]);
    if (engines === 0) throw new Error(`CONFIG_VLLM_LORA_ADAPTERS: "${item}" puts the adapter on 0 engines; give at least 1, or leave :ENGINES out for all`);
    if (out.some((a) => a.name === m[1])) throw new Error(`CONFIG_VLLM_LORA_ADAPTERS names "${m[1]}" twice`);
    out.push({ name: m[1] as string, path: m[2] as string, engines });
  }
  if (out.length === 0) throw new Error('CONFIG_VLLM_LORA_ADAPTERS is empty: name at least one adapter (NAME=PATH), or turn CONFIG_VLLM_LORA_ENABLED off');
  return out;
}

/** How many engines hold the adapter, given the replica count. */
export function adapterEngineCount(a: LoraAdapterConfig, replicas: number): number {
  return Math.min(a.engines ?? replicas, replicas);
}

/** The adapters engine `index` loads at start; an engine added by scaling takes the set of index mod replicas. */
export function adaptersOnEngine(adapters: LoraAdapterConfig[], index: number, replicas: number): LoraAdapterConfig[] {
  const n = Math.max(1, replicas);
  const slot = index % n;
  return adapters.filter((a, k) => (slot - (k % n) + n) % n < adapterEngineCount(a, n));
}

/** The plan of a configuration, or null when LoRA is off. */
export function loraPlan(v: { vllm_lora_enabled?: boolean; vllm_lora_adapters?: string; vllm_lora_max_loras?: number; vllm_lora_runtime_updating?: boolean }): LoraPlan | null {
  if (!v.vllm_lora_enabled) return null;
  return {
    adapters: parseLoraAdapters(v.vllm_lora_adapters ?? ''),
    maxLoras: v.vllm_lora_max_loras ?? 1,
    runtimeUpdating: v.vllm_lora_runtime_updating ?? false,
  };
}
