// Even rotation over the endpoints serving the model, with one counter per
// endpoint set: a shared counter starves engines when requests for two
// models alternate (A1,A2 serving A, B1,B2 serving B: A2 and B1 would never
// get one), as production-stack's own unit test pins down.
import type { EndpointView, RoutingAlgorithm } from './types.js';

/** Endpoint sets remembered; past it the counters start over (sets change only with discovery and failover). */
export const MAX_SETS = 1024;

export class RoundRobin implements RoutingAlgorithm {
  readonly name = 'roundrobin';
  private readonly counters = new Map<string, number>();

  choose(endpoints: EndpointView[]): EndpointView {
    if (endpoints.length === 1) return endpoints[0] as EndpointView;
    // Views come URL-sorted, so the joined URLs name the set.
    let key = (endpoints[0] as EndpointView).url;
    for (let i = 1; i < endpoints.length; i++) key += `,${(endpoints[i] as EndpointView).url}`;
    const n = this.counters.get(key) ?? 0;
    if (n === 0 && this.counters.size >= MAX_SETS) this.counters.clear();
    this.counters.set(key, n + 1);
    return endpoints[n % endpoints.length] as EndpointView;
  }

  retain(urls: Set<string>): void {
    for (const key of this.counters.keys()) if (key.split(',').some((u) => !urls.has(u))) this.counters.delete(key);
  }
}
