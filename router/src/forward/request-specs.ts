// What the forwarder hands a request it has admitted: a proxied request's
// spec, and a split one's (disaggregated prefill). Apart from the requests, so
// that the forwarder, below them, names these without importing them.
import type { Endpoint } from '../backends/endpoints.js';
import type { RoutedRequest } from '../routing/index.js';
import type { DisaggregatedLogic, PoolLabels } from '../routing/disaggregated-prefill.js';

export interface ForwardSpec {
  method: 'POST' | 'GET';
  /** The engine's path, query included. */
  path: string;
  /** The body for the engine: the client's bytes, or rewritten when an alias changed the model. */
  payload: Buffer | null;
  /** Flat name, value list sent to the engine. */
  headers: string[];
  requestId: string;
  /** The model as the client named it (metrics and logs use this name). */
  requested: string;
  routed: RoutedRequest;
  /** performance.now() when the request arrived. */
  arrival: number;
  /** Only this endpoint (by id), when the client named one (?id=). */
  pinned: string | null;
  /** Called with the engine's status once its whole answer has been relayed. */
  answered?: (endpoint: Endpoint, status: number) => void;
  /** Only engines this accepts (disaggregated prefill: the decode pool). */
  only?: (endpoint: Endpoint) => boolean;
  /** The leg of a split request this is (disaggregated prefill): named in its errors. */
  leg?: string;
  /** More response headers for the client (flat name, value list). */
  responseHeaders?: string[];
}

export interface SplitRequest {
  logic: DisaggregatedLogic;
  labels: PoolLabels;
  /** The client's body, parsed (with the model an alias resolves to). */
  body: Record<string, unknown>;
  /** The decode leg's spec without payload; the prefill leg reuses its path, headers and ids. */
  spec: Omit<ForwardSpec, 'payload' | 'only' | 'leg'>;
}
