// The router's /metrics under the production-stack router's names, plus a
// router-side TTFT histogram. Engine metric names are not re-exported, so
// they never collide with the engines' own. Series of engines that left are
// removed.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EndpointSet } from './endpoints.js';

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
    perServer('vllm:avg_router_ttft', 'Average time to the first response byte per engine over the stats window, seconds.', (e) => (e.stats.snapshot().avgTtftMs ?? 0) / 1000);
    perServer('vllm:num_prefill_requests', 'Requests in flight that have no response byte yet, per engine.', (e) => e.awaitingFirstByte);
    perServer('vllm:num_decoding_requests', 'Requests in flight that are streaming their response, per engine.', (e) => e.inFlight - e.awaitingFirstByte);
    new Gauge({
      name: 'vllm:healthy_pods_total', help: 'Engines currently in rotation.', registers: [r],
      collect() { this.set(endpoints.all().filter((e) => e.healthy()).length); },
    });
    this.incoming = new Counter({ name: 'vllm:num_incoming_requests_total', help: 'Requests received, by model.', labelNames: ['model'], registers: [r] });
    this.errors = new Counter({ name: 'vllm:request_errors_total', help: 'Requests that failed, by engine, model and error type.', labelNames: ['server', 'model', 'error_type'], registers: [r] });
    this.latency = new Histogram({ name: 'vllm:request_latency_seconds', help: 'End-to-end request latency through the router.', labelNames: ['server', 'model', 'status'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.ttft = new Histogram({ name: 'vllm:router_ttft_seconds', help: 'Time from request arrival to the first response byte from the engine.', labelNames: ['server'], buckets: LATENCY_BUCKETS, registers: [r] });
  }

  // Label sets used per engine, so that an engine's series can be removed when it leaves.
  private readonly labelSets = new Map<string, Map<string, Record<string, string>>>();

  private track(server: string, labels: Record<string, string>): void {
    let sets = this.labelSets.get(server);
    if (!sets) this.labelSets.set(server, (sets = new Map()));
    const key = JSON.stringify(labels);
    if (!sets.has(key)) sets.set(key, labels);
  }

  observeLatency(server: string, model: string, status: number, seconds: number): void {
    const labels = { server, model, status: String(status) };
    this.track(server, labels);
    this.latency.observe(labels, seconds);
  }

  countError(server: string, model: string, errorType: string): void {
    const labels = { server, model, error_type: errorType };
    this.track(server, labels);
    this.errors.inc(labels);
  }

  /** Drops the series of an engine that left. */
  forget(url: string): void {
    this.ttft.remove({ server: url });
    for (const labels of this.labelSets.get(url)?.values() ?? []) {
      if ('status' in labels) this.latency.remove(labels);
      else this.errors.remove(labels);
    }
    this.labelSets.delete(url);
  }
}
