// Where a deployed local stack's metrics can be read at the end of a run:
// its Prometheus (when one runs) and, as the fallback, every /metrics page.
import type { SnapshotSources } from '../../observability/metrics-snapshot.js';
import { routerUrl } from '../../vocabulary/node-plan.js';
import type { LocalStack } from './local-stack.js';

export async function snapshotSources(stack: LocalStack): Promise<SnapshotSources> {
  const { spec } = stack;
  const [engines, services] = await Promise.all([stack.engines(), stack.services()]);
  const prometheus = services.find((s) => s.id === 'prometheus');
  return {
    node: spec.node,
    prometheusUrl: spec.prometheus && prometheus?.running ? `http://127.0.0.1:${spec.prometheus.port}` : null,
    scrapeIntervalSeconds: spec.prometheus?.scrapeIntervalSeconds ?? 0,
    sinceMs: Date.parse(stack.deployedAt ?? stack.record.startedAt),
    pages: [
      ...engines.filter((e) => e.running).map((e) => ({ target: e.id, url: e.metricsUrl })),
      ...(spec.router ? [{ target: 'router', url: `${routerUrl(spec)}/metrics` }] : []),
    ],
  };
}
