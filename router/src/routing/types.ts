// What a routing algorithm sees: the healthy endpoints serving the model,
// with the load the router knows of, and the request's routing keys.

export interface EngineLoad {
  waiting: number;
  running: number;
  kvUsage: number;
}

export interface EndpointView {
  url: string;
  /** Requests the router has in flight to it now. */
  inFlight: number;
  /** Requests routed to it within the stats window. */
  recentRequests: number;
  /** Its own metrics at the last scrape, or null before the first one. */
  engine: EngineLoad | null;
}

export interface RoutedRequest {
  model: string;
  sessionId: string | null;
  /** The prompt text: chat messages joined, or the completion prompt. */
  prompt: string;
}

export interface RoutingAlgorithm {
  readonly name: string;
  /** Picks one of `endpoints` (never empty, sorted by URL). */
  choose(endpoints: EndpointView[], request: RoutedRequest): EndpointView;
  /** The endpoint set changed: forget what concerns endpoints that left. */
  retain?(urls: Set<string>): void;
}

/** Fewest in-flight requests, then fewest recent ones; ties rotate so one-at-a-time arrivals still spread. */
export class LeastLoadedTieBreak {
  private turn = 0;

  pick(candidates: EndpointView[]): EndpointView {
    let best: EndpointView[] = [];
    for (const e of candidates) {
      const first = best[0];
      if (!first || e.inFlight < first.inFlight || (e.inFlight === first.inFlight && e.recentRequests < first.recentRequests)) best = [e];
      else if (e.inFlight === first.inFlight && e.recentRequests === first.recentRequests) best.push(e);
    }
    return best[this.turn++ % best.length] as EndpointView;
  }
}

export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche so that similar keys spread over the whole ring.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}
