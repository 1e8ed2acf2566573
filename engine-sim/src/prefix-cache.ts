// vLLM's prefix cache, modelled: prompt tokens cut into full blocks, each
// block's hash chaining the previous block's hash with its token ids, so an
// equal hash means an equal prefix. Blocks held by running requests are
// pinned; free blocks are evicted least-recently-used first, into an
// optional CPU offload tier (what LMCache adds) with its own LRU.

export type BlockHash = number;

/** Chained block hashes of the full blocks of `tokens`. */
export function blockHashes(tokens: number[], blockSize: number, seed = 0): BlockHash[] {
  const hashes: BlockHash[] = [];
  let lo = (0x811c9dc5 ^ seed) >>> 0;
  let hi = 0x9e3779b9;
  const full = Math.floor(tokens.length / blockSize) * blockSize;
  for (let start = 0; start < full; start += blockSize) {
    for (let i = start; i < start + blockSize; i++) {
      const t = tokens[i] as number;
      lo = Math.imul(lo ^ t, 0x01000193) >>> 0;
      hi = Math.imul(hi ^ (t + 0x7f4a7c15), 0x85ebca6b) >>> 0;
    }
    // 53 bits (21 of hi, 32 of lo) keep the hash an exact JavaScript number.
    hashes.push((hi >>> 11) * 0x1_0000_0000 + lo);
  }
  return hashes;
}

export interface PrefixMatch {
  /** Leading blocks found in the GPU tier. */
  gpuBlocks: number;
  /** Following blocks found in the offload tier. */
  offloadBlocks: number;
}

export interface CacheStats {
  capacity: number;
  used: number;
  pinned: number;
  offloadCapacity: number;
  offloadUsed: number;
}

export class PrefixCache {
  // hash -> reference count; a Map keeps insertion order, which is our LRU order for free blocks.
  private readonly refs = new Map<BlockHash, number>();
  private readonly free = new Map<BlockHash, true>();
  private readonly offload = new Map<BlockHash, true>();
  private pinnedCount = 0;

  constructor(readonly capacity: number, readonly offloadCapacity = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`KV capacity must be a positive number of blocks, not ${capacity}`);
  }

  /** How long a prefix of these blocks is cached, per tier (without changing anything). */
  match(hashes: BlockHash[]): PrefixMatch {
    let gpu = 0;
    while (gpu < hashes.length && this.refs.has(hashes[gpu] as BlockHash)) gpu++;
    let off = 0;
    while (gpu + off < hashes.length && this.offload.has(hashes[gpu + off] as BlockHash)) off++;
    return { gpuBlocks: gpu, offloadBlocks: off };
  }

  /**
   * Pins the blocks for a running request, allocating the missing ones (an
   * offloaded block is loaded back). Returns the hashes it pinned; a block
   * that finds no room (every block pinned) is computed but not cached.
   */
  acquire(hashes: BlockHash[]): BlockHash[] {
    const pinned: BlockHash[] = [];
    for (const h of hashes) {
      const refs = this.refs.get(h);
      if (refs !== undefined) {
        if (refs === 0) {
          this.free.delete(h);
          this.pinnedCount++;
        }
        this.refs.set(h, refs + 1);
        pinned.push(h);
        continue;
      }
      if (this.refs.size >= this.capacity && !this.evictOne()) break;
      this.offload.delete(h);
      this.refs.set(h, 1);
      this.pinnedCount++;
      pinned.push(h);
    }
    return pinned;
  }

  /** Unpins a finished request's blocks; they stay cached until evicted. */
  release(hashes: BlockHash[]): void {
    for (const h of hashes) {
      const refs = this.refs.get(h);
      if (refs === undefined || refs === 0) continue;
      this.refs.set(h, refs - 1);
      if (refs === 1) {
        this.pinnedCount--;
        this.free.set(h, true);
      }
    }
  }

  stats(): CacheStats {
    return { capacity: this.capacity, used: this.refs.size, pinned: this.pinnedCount, offloadCapacity: this.offloadCapacity, offloadUsed: this.offload.size };
  }

  /** Whether a block is cached in the GPU tier (for tests and metrics). */
  has(h: BlockHash): boolean {
    return this.refs.has(h);
  }

  private evictOne(): boolean {
    const victim = this.free.keys().next();
    if (victim.done) return false;
    this.free.delete(victim.value);
    this.refs.delete(victim.value);
    if (this.offloadCapacity > 0) {
      if (this.offload.size >= this.offloadCapacity) {
        const oldest = this.offload.keys().next();
        if (!oldest.done) this.offload.delete(oldest.value);
      }
      this.offload.set(victim.value, true);
    }
    return true;
  }
}
