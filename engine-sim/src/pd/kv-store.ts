// The KV blocks of whole prompts that crossed between engines, by prompt key:
// what a consumer received (pushed to it) and what a producer holds for a
// consumer to pull. Bounded in blocks, oldest out first; a decode takes its
// prompt's entry, so one transfer serves one decode.
import { blockHashes } from '../prefix-cache.js';

export interface KvEntry {
  blocks: number;
  tokens: number;
}

/** One number per prompt: the chained hash of all its tokens. */
export function promptKey(tokens: number[]): string {
  return tokens.length === 0 ? 'empty' : String(blockHashes(tokens, tokens.length)[0]);
}

export class KvStore {
  private readonly entries = new Map<string, KvEntry>();
  private used = 0;

  constructor(readonly capacityBlocks: number) {}

  put(key: string, entry: KvEntry): void {
    this.take(key);
    this.entries.set(key, entry);
    this.used += entry.blocks;
    for (const [k, e] of this.entries) {
      if (this.used <= this.capacityBlocks || k === key) break;
      this.entries.delete(k);
      this.used -= e.blocks;
    }
  }

  /** Removes and returns the entry, or null. */
  take(key: string): KvEntry | null {
    const e = this.entries.get(key);
    if (!e) return null;
    this.entries.delete(key);
    this.used -= e.blocks;
    return e;
  }
}
