// The Prometheus configuration of a local node, as a pure function of the
// stack spec and the engines it runs: every engine and the router, each
// target labelled with the node, its role, its component and (engines) its
// id, so that dashboards and alerts tell nodes and engines apart whatever
// their ports. Regenerated whenever the engine set changes (scaling).
import { stringify } from 'yaml';
import { ENGINE_HOST, engineId, enginePort, routerUrl, type NodePlan } from '../vocabulary/node-plan.js';

/** The job names of the local target's scrape configs. */
export const ENGINE_JOB = 'vllm-engines';
export const ROUTER_JOB = 'vllm-router';

// Prometheus refuses a scrape timeout longer than the interval.
const MAX_SCRAPE_TIMEOUT_SECONDS = 10;

export function prometheusConfig(spec: NodePlan, engineIndexes: number[], rulesFile: string): string {
  if (!spec.prometheus) throw new Error(`node ${spec.node} has observability off (CONFIG_VLLM_OBSERVABILITY_ENABLED)`);
  const interval = spec.prometheus.scrapeIntervalSeconds;
  const common = { node: spec.node, role: spec.role };
  const jobs: Record<string, unknown>[] = [{
    job_name: ENGINE_JOB,
    static_configs: [...new Set(engineIndexes)].sort((a, b) => a - b).map((i) => ({
      targets: [`${ENGINE_HOST}:${enginePort(spec, i)}`],
      labels: { ...common, component: 'engine', engine: engineId(i) },
    })),
  }];
  if (spec.router) {
    jobs.push({ job_name: ROUTER_JOB, static_configs: [{ targets: [new URL(routerUrl(spec)).host], labels: { ...common, component: 'router' } }] });
  }
  return stringify({
    global: {
      scrape_interval: `${interval}s`,
      scrape_timeout: `${Math.min(interval, MAX_SCRAPE_TIMEOUT_SECONDS)}s`,
      evaluation_interval: `${interval}s`,
    },
    rule_files: [rulesFile],
    scrape_configs: jobs,
  });
}
