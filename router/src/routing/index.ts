// The routing algorithms, by their --routing-logic names.
import { LeastLoaded } from './least-loaded.js';
import { PrefixAware, PREFIX_DEFAULTS } from './prefix-aware.js';
import { RoundRobin } from './round-robin.js';
import { SessionAffinity } from './session.js';
import type { RoutingAlgorithm } from './types.js';

export { LeastLoaded, loadScore } from './least-loaded.js';
export { PrefixAware, chunkHashes, prefixLoad, PREFIX_DEFAULTS, type PrefixAwareOptions } from './prefix-aware.js';
export { RoundRobin } from './round-robin.js';
export { SessionAffinity, VIRTUAL_NODES } from './session.js';
export type { EndpointView, EngineLoad, RoutedRequest, RoutingAlgorithm } from './types.js';

export { DISAGGREGATED_LOGICS, isDisaggregated, type DisaggregatedLogic, type PoolLabels } from './disaggregated-prefill.js';

export const ROUTING_LOGICS = ['roundrobin', 'session', 'prefixaware', 'leastloaded', 'kvaware', 'disaggregated_prefill', 'disaggregated_prefill_orchestrated'] as const;
export type RoutingLogic = (typeof ROUTING_LOGICS)[number];

export function createAlgorithm(logic: RoutingLogic, prefixMinMatchLength = 0, prefixLoadWeight = PREFIX_DEFAULTS.loadWeight): RoutingAlgorithm {
  switch (logic) {
    case 'roundrobin': return new RoundRobin();
    case 'session': return new SessionAffinity();
    case 'prefixaware': return new PrefixAware({ ...PREFIX_DEFAULTS, minMatchLength: prefixMinMatchLength, loadWeight: prefixLoadWeight });
    case 'leastloaded':
    case 'kvaware':
    // Disaggregated prefill picks within each pool by load.
    case 'disaggregated_prefill':
    case 'disaggregated_prefill_orchestrated': return new LeastLoaded();
    // Unreachable from typed code; a plain JavaScript caller would otherwise get undefined.
    default: throw new Error(`routing logic "${String(logic)}" is not one of ${ROUTING_LOGICS.join(', ')}`);
  }
}
