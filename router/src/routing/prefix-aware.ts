// Prefix-aware routing that also balances load. The prompt is cut into
// chunks, each chunk's hash chains the previous one's, and an index remembers
// which endpoints were sent which chains: how much of this prompt each
// endpoint has cached.
//
// What is worth routing for is the part of the prompt that not every
// candidate holds already: a system prompt shared by all users is cached
// everywhere after a while, a user's own history on one engine only. Each
// candidate is scored
//
//   cost = loadWeight × load − gain
//   gain = (matched − common) / (prompt − common)       (0 when prompt = common)
//   load = in_flight + waiting + kv_usage
//
// where `matched` is the prompt's length in characters the endpoint holds,
// `common` the least any candidate holds, `in_flight` the router's own count
// (always current) and `waiting`, `kv_usage` what the engine reported at its
// last scrape. The lowest cost wins; ties go to the least loaded. So a full
// hit on the uncached part is worth 1 / loadWeight requests of load (2 by
// default): a user stays with the engine holding its history until that
// engine has more than two requests more than another; cold prompts, and
// prompts whose only match is shared by all, go to the least loaded.
// loadWeight 0 is production-stack's behaviour: the longest match wins.
// (As llm-d's scheduler, which adds a prefix scorer to queue and KV scorers,
// but with the prefix counted beyond what all candidates share.)
//
// The index is bounded (LRU) and forgets endpoints that leave.
import { fnv1a, LeastLoadedTieBreak, type EndpointView, type RoutedRequest, type RoutingAlgorithm } from './types.js';

export interface PrefixAwareOptions {
  chunkSize: number;
  /** Matches shorter than this many characters count as none. */
  minMatchLength: number;
  /** Most chunk hashes remembered. */
  maxEntries: number;
  /** Cost of one request of load, against a full hit on the prompt's uncached part; 0 = the longest match wins. */
  loadWeight: number;
}

export const PREFIX_DEFAULTS: PrefixAwareOptions = { chunkSize: 128, minMatchLength: 0, maxEntries: 200_000, loadWeight: 0.5 };

const EPSILON = 1e-9;

export function chunkHashes(prompt: string, chunkSize: number): number[] {
  const hashes: number[] = [];
  let h = 0x811c9dc5;
  for (let start = 0; start < prompt.length; start += chunkSize) {
    h = fnv1a(prompt.slice(start, start + chunkSize), h);
    hashes.push(h);
  }
  return hashes;
}

/** The load prefix-aware routing weighs: the router's in-flight count, plus the engine's queue and KV usage at its last scrape. */
export function prefixLoad(e: EndpointView): number {
  return e.inFlight + (e.engine ? e.engine.waiting + e.engine.kvUsage : 0);
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

  /** Characters of the prompt each endpoint holds (a chain of chunks from the start), in the order given. */
  matched(endpoints: EndpointView[], request: RoutedRequest, hashes = chunkHashes(request.prompt, this.options.chunkSize)): number[] {
    const chunks = endpoints.map(() => 0);
    let still = endpoints.length;
    for (let i = 0; i < hashes.length && still > 0; i++) {
      const owners = this.index.get(hashes[i] as number);
      for (let k = 0; k < endpoints.length; k++) {
        if (chunks[k] !== i) continue;
        if (owners?.has((endpoints[k] as EndpointView).url)) chunks[k] = i + 1;
        else still--;
      }
    }
    const { chunkSize, minMatchLength } = this.options;
    return chunks.map((n) => {
      const chars = Math.min(n * chunkSize, request.prompt.length);
      return n > 0 && chars >= minMatchLength ? chars : 0;
    });
  }

  choose(endpoints: EndpointView[], request: RoutedRequest): EndpointView {
    const hashes = chunkHashes(request.prompt, this.options.chunkSize);
    const matched = this.matched(endpoints, request, hashes);
    const common = Math.min(...matched);
    const uncached = request.prompt.length - common;
    let best: EndpointView[] = [];
    let bestCost = Infinity;
    for (let k = 0; k < endpoints.length; k++) {
      const e = endpoints[k] as EndpointView;
      const gain = uncached > 0 ? ((matched[k] as number) - common) / uncached : 0;
      const cost = this.options.loadWeight * prefixLoad(e) - gain;
      if (cost < bestCost - EPSILON) {
        best = [e];
        bestCost = cost;
      } else if (cost <= bestCost + EPSILON) {
        best.push(e);
      }
    }
    const chosen = this.tieBreak.pick(best);
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
