// Least loaded by the engines' own view (waiting, running, KV usage from
// their /metrics) plus the router's in-flight count, which covers bursts
// between two scrapes.
import { LeastLoadedTieBreak, type EndpointView, type RoutingAlgorithm } from './types.js';

// A waiting request costs more than a running one: it has not even started.
const WAITING_WEIGHT = 4;
const KV_WEIGHT = 10;

export function loadScore(e: EndpointView): number {
  const engine = e.engine;
  return e.inFlight + (engine ? WAITING_WEIGHT * engine.waiting + engine.running + KV_WEIGHT * engine.kvUsage : 0);
}

export class LeastLoaded implements RoutingAlgorithm {
  readonly name = 'leastloaded';
  private readonly tieBreak = new LeastLoadedTieBreak();

  choose(endpoints: EndpointView[]): EndpointView {
    let best: EndpointView[] = [];
    let bestScore = Infinity;
    for (const e of endpoints) {
      const s = loadScore(e);
      if (s < bestScore - 1e-9) {
        best = [e];
        bestScore = s;
      } else if (Math.abs(s - bestScore) <= 1e-9) {
        best.push(e);
      }
    }
    return this.tieBreak.pick(best);
  }
}
