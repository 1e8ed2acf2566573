// Even rotation over the endpoints serving the model.
import type { EndpointView, RoutingAlgorithm } from './types.js';

export class RoundRobin implements RoutingAlgorithm {
  readonly name = 'roundrobin';
  private counter = 0;

  choose(endpoints: EndpointView[]): EndpointView {
    return endpoints[this.counter++ % endpoints.length] as EndpointView;
  }
}
