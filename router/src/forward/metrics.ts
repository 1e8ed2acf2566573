// The router's /metrics under the production-stack router's names, plus a
// router-side TTFT histogram. Engine metric names are not re-exported, so
// they never collide with the engines' own. Series of engines that left are
// removed.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EndpointSet } from '../backends/endpoints.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class RouterMetrics {
  readonly registry = new Registry();
  readonly incoming;
  readonly errors;
  readonly latency;
  readonly ttft;
  private readonly perServer: Gauge[] = [];

  constructor(endpoints: EndpointSet) {
    const r = this.registry;
    const perServer = (name: string, help: string, read: (e: ReturnType<EndpointSet['all']>[number]) => number) => {
      const g = new Gauge({
        name, help, labelNames: ['server'], registers: [r],
        collect() {
          this.reset();
          for (const e of endpoints.all()) this.set({ server: e.url }, read(e));
        },
      });
      this.perServer.push(g);
    };
    perServer('vllm:current_qps', 'Requests per second routed to each engine over the stats window.', (e) => e.stats.snapshot().qps);
    perServer('vllm:avg_latency', 'Average end-to-end latency of each engine over the stats window, seconds.', (e) => (e.stats.snapshot().avgLatencyMs ?? 0) / 1000);
    perServer('vllm:avg_router_ttft', 'Average time to the first response body byte (a stream\'s first token) per engine over the stats window, seconds.', (e) => (e.stats.snapshot().avgTtftMs ?? 0) / 1000);
    perServer('vllm:num_prefill_requests', 'Requests in flight that have no response body byte yet, per engine.', (e) => e.awaitingFirstByte);
    perServer('vllm:num_decoding_requests', 'Requests in flight that are streaming their response, per engine.', (e) => e.inFlight - e.awaitingFirstByte);
    new Gauge({
      name: 'vllm:healthy_pods_total', help: 'Engines currently in rotation.', registers: [r],
      collect() { this.set(endpoints.all().filter((e) => e.healthy()).length); },
    });
    this.incoming = new Counter({ name: 'vllm:num_incoming_requests_total', help: 'Requests received, by model.', labelNames: ['model'], registers: [r] });
    this.errors = new Counter({ name: 'vllm:request_errors_total', help: 'Requests that failed, by engine, model and error type.', labelNames: ['server', 'model', 'error_type'], registers: [r] });
    this.latency = new Histogram({ name: 'vllm:request_latency_seconds', help: 'End-to-end request latency through the router.', labelNames: ['server', 'model', 'status'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.ttft = new Histogram({ name: 'vllm:router_ttft_seconds', help: 'Time from request arrival to the first response body byte from the engine (a stream\'s first token).', labelNames: ['server'], buckets: LATENCY_BUCKETS, registers: [r] });
  }

  // Labelled children by label values: prom-client hashes a label object on
  // every call, which costs more than the rest of the bookkeeping per request.
  // Kept per engine, so that an engine's series can be removed when it leaves.
  private readonly children = new Map<string, Map<string, { labels: Record<string, string>; child: { observe(v: number): void } | { inc(): void } }>>();
  private readonly incomingByModel = new Map<string, { inc(): void }>();

  private child<T>(server: string, key: string, labels: Record<string, string>, make: () => T): T {
    let perServer = this.children.get(server);
    if (!perServer) this.children.set(server, (perServer = new Map()));
    let entry = perServer.get(key);
    if (!entry) perServer.set(key, (entry = { labels, child: make() as { inc(): void } }));
    return entry.child as T;
  }

  countIncoming(model: string): void {
    let c = this.incomingByModel.get(model);
    if (!c) this.incomingByModel.set(model, (c = this.incoming.labels({ model })));
    c.inc();
  }

  observeTtft(server: string, seconds: number): void {
    this.child(server, 'ttft', { server }, () => this.ttft.labels({ server })).observe(seconds);
  }

  observeLatency(server: string, model: string, status: number, seconds: number): void {
    const labels = { server, model, status: String(status) };
    this.child(server, `latency\0${model}\0${status}`, labels, () => this.latency.labels(labels)).observe(seconds);
  }

  countError(server: string, model: string, errorType: string): void {
    const labels = { server, model, error_type: errorType };
    this.child(server, `error\0${model}\0${errorType}`, labels, () => this.errors.labels(labels)).inc();
  }

  /** Drops the series of an engine that left. */
  forget(url: string): void {
    for (const [key, { labels }] of this.children.get(url) ?? []) {
      if (key === 'ttft') this.ttft.remove(labels);
      else if (key.startsWith('latency')) this.latency.remove(labels);
      else this.errors.remove(labels);
    }
    this.children.delete(url);
  }
}
