// Prefix-aware routing: the prompt is cut into chunks, each chunk's hash
// chains the previous one's, and an index remembers which endpoints were
// sent which chains. The endpoint holding the longest prefix wins; cold
// prompts and ties go to the least loaded. The index is bounded (LRU) and
// forgets endpoints that left.
import { fnv1a, LeastLoadedTieBreak, type EndpointView, type RoutedRequest, type RoutingAlgorithm } from './types.js';

export interface PrefixAwareOptions {
  chunkSize: number;
  /** Matches shorter than this many characters count as cold. */
  minMatchLength: number;
  /** Most chunk hashes remembered. */
  maxEntries: number;
}

export const PREFIX_DEFAULTS: PrefixAwareOptions = { chunkSize: 128, minMatchLength: 0, maxEntries: 200_000 };

export function chunkHashes(prompt: string, chunkSize: number): number[] {
  const hashes: number[] = [];
  let h = 0x811c9dc5;
  for (let start = 0; start < prompt.length; start += chunkSize) {
    h = fnv1a(prompt.slice(start, start + chunkSize), h);
    hashes.push(h);
  }
  return hashes;
}

export class PrefixAware implements RoutingAlgorithm {
  readonly name = 'prefixaware';
  // chain hash -> endpoints that were sent it; Map order is the LRU order.
  private readonly index = new Map<number, Set<string>>();
  private readonly tieBreak = new LeastLoadedTieBreak();

  constructor(readonly options: PrefixAwareOptions = PREFIX_DEFAULTS) {}

  get size(): number {
    return this.index.size;
  }

  choose(endpoints: EndpointView[], request: RoutedRequest): EndpointView {
    const hashes = chunkHashes(request.prompt, this.options.chunkSize);
    let holders: EndpointView[] = [];
    let matched = 0;
    for (let i = 0; i < hashes.length; i++) {
      const owners = this.index.get(hashes[i] as number);
      const live = owners ? endpoints.filter((e) => owners.has(e.url)) : [];
      if (live.length === 0) break;
      holders = live;
      matched = i + 1;
    }
    const matchedChars = Math.min(matched * this.options.chunkSize, request.prompt.length);
    const chosen = matched > 0 && matchedChars >= this.options.minMatchLength ? this.tieBreak.pick(holders) : this.tieBreak.pick(endpoints);
    this.remember(hashes, chosen.url);
    return chosen;
  }

  retain(urls: Set<string>): void {
    for (const [hash, owners] of this.index) {
      for (const url of owners) if (!urls.has(url)) owners.delete(url);
      if (owners.size === 0) this.index.delete(hash);
    }
  }

  private remember(hashes: number[], url: string): void {
    // Last chunk first, so a prompt's leading chunks are the most recently used:
    // eviction then trims prompts from their tails, never leaving a tail no lookup can reach.
    for (let i = hashes.length - 1; i >= 0; i--) {
      const h = hashes[i] as number;
      const owners = this.index.get(h);
      if (owners) {
        this.index.delete(h);
        owners.add(url);
        this.index.set(h, owners);
      } else {
        this.index.set(h, new Set([url]));
      }
    }
    while (this.index.size > this.options.maxEntries) {
      const oldest = this.index.keys().next();
      if (oldest.done) break;
      this.index.delete(oldest.value);
    }
  }
}
