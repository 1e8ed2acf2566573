// Session affinity by consistent hashing: each endpoint owns 160 points on
// a ring, a session goes to the first point after its hash, so adding or
// removing one of N endpoints moves only about 1/N of the sessions.
import { fnv1a, LeastLoadedTieBreak, type EndpointView, type RoutedRequest, type RoutingAlgorithm } from './types.js';

export const VIRTUAL_NODES = 160;

export class SessionAffinity implements RoutingAlgorithm {
  readonly name = 'session';
  private ringKey = '';
  private points: number[] = [];
  private owners: string[] = [];
  private readonly fallback = new LeastLoadedTieBreak();

  choose(endpoints: EndpointView[], request: RoutedRequest): EndpointView {
    if (request.sessionId === null || request.sessionId === '') return this.fallback.pick(endpoints);
    this.build(endpoints);
    const h = fnv1a(request.sessionId);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const owner = this.owners[lo % this.owners.length];
    return endpoints.find((e) => e.url === owner) as EndpointView;
  }

  private build(endpoints: EndpointView[]): void {
    const key = endpoints.map((e) => e.url).join(',');
    if (key === this.ringKey) return;
    const entries: [number, string][] = [];
    for (const e of endpoints) for (let i = 0; i < VIRTUAL_NODES; i++) entries.push([fnv1a(`${e.url}#${i}`), e.url]);
    entries.sort((a, b) => a[0] - b[0]);
    this.points = entries.map((x) => x[0]);
    this.owners = entries.map((x) => x[1]);
    this.ringKey = key;
  }
}
