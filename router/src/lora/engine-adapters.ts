// What the router knows of one engine's LoRA adapters: which it serves (the
// ids of its /v1/models whose card names a parent, as vLLM lists adapters),
// and which are likely in a GPU slot now, for adapter affinity. The slots
// start from what the engine last reported (the simulator's
// vllm_sim:lora_resident, else vLLM's running adapters) and follow what the
// router has sent it since, least recently used out, up to its max_lora.
import type { LoraInfo } from './lora-metrics.js';

export class EngineAdapters {
  /** Adapter id → its parent (base model), from the engine's last /v1/models. */
  served = new Map<string, string>();
  private slots: string[] = [];
  private maxLora = 1;

  /** The engine's /v1/models cards were read: its adapters are exactly those with a parent. */
  fromCards(cards: Iterable<Record<string, unknown> & { id: string }>): { added: string[]; removed: string[] } {
    const next = new Map<string, string>();
    for (const c of cards) if (typeof c.parent === 'string' && c.parent !== '' && c.parent !== c.id) next.set(c.id, c.parent);
    const added = [...next.keys()].filter((id) => !this.served.has(id));
    const removed = [...this.served.keys()].filter((id) => !next.has(id));
    this.served = next;
    this.slots = this.slots.filter((a) => next.has(a));
    return { added, removed };
  }

  /** A load through this router succeeded: served from now on, before the next read confirms it. */
  loaded(name: string, parent: string): void {
    this.served.set(name, parent);
  }

  unloaded(name: string): void {
    this.served.delete(name);
    this.slots = this.slots.filter((a) => a !== name);
  }

  /** The engine's metrics were read: its slots as it reports them. */
  fromMetrics(info: LoraInfo): void {
    this.maxLora = Math.max(1, info.maxLora);
    const known = info.resident ?? [...info.running, ...info.waiting];
    this.slots = known.filter((a) => this.served.has(a)).slice(-this.maxLora);
  }

  /** A request for the adapter was sent here: it will be in a slot, the least recently used one out. */
  routed(name: string): void {
    this.slots = [...this.slots.filter((a) => a !== name), name].slice(-this.maxLora);
  }

  resident(name: string): boolean {
    return this.slots.includes(name);
  }

  snapshot(): Record<string, unknown> {
    return { adapters: [...this.served.keys()].sort(), likely_resident: [...this.slots], max_lora: this.maxLora };
  }
}
