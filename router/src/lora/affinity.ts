// Adapter affinity (--lora-affinity): among the engines serving an adapter,
// keep those where it is likely in a GPU slot already, so a request does not
// pay a swap-in elsewhere; the configured routing logic chooses among them.
// Not when that would pile load on them: if the least loaded of them has
// more than LORA_AFFINITY_SLACK requests in flight beyond the least loaded
// engine overall, all candidates stay (and the adapter spreads).

export const LORA_AFFINITY_SLACK = 4;

export interface AffinityCandidate {
  inFlight: number;
}

export function preferResident<T extends AffinityCandidate>(candidates: T[], resident: (e: T) => boolean, slack = LORA_AFFINITY_SLACK): T[] {
  const holding = candidates.filter(resident);
  if (holding.length === 0 || holding.length === candidates.length) return candidates;
  const least = (list: T[]) => Math.min(...list.map((e) => e.inFlight));
  return least(holding) <= least(candidates) + slack ? holding : candidates;
}
