// The observability part of a node's chart values (dashboards as ConfigMaps,
// the alert rules as a PrometheusRule, ServiceMonitor labels), built by the
// observability library from the shipped files; null when observability is off.
import { deployedAlertRules, readShippedAlertRules } from '../observability/alert-rules.js';
import { observabilityChartValues } from '../observability/chart-values.js';
import { shippedDashboards } from '../observability/dashboards.js';
import type { NodePlan } from '../vocabulary/node-plan.js';
import type { Values } from './values.js';

export async function observabilityValues(node: { name: string; role: 'baseline' | 'dev' }, spec: Pick<NodePlan, 'prometheus'>): Promise<Values | null> {
  if (!spec.prometheus) return null;
  return observabilityChartValues({
    dashboards: await shippedDashboards(),
    alertRules: deployedAlertRules(await readShippedAlertRules(), spec.prometheus.alertThresholds),
    node: node.name,
    role: node.role,
    scrapeIntervalSeconds: spec.prometheus.scrapeIntervalSeconds,
  });
}
