// Writes a local node's Prometheus files: the alert rules with the configured
// thresholds first, then the configuration that loads them.
import { writeFileAtomic } from '../atomic-write.js';
import type { NodePlan } from '../vocabulary/node-plan.js';
import { deployedAlertRules, readShippedAlertRules } from './alert-rules.js';
import { prometheusConfig } from './prometheus-config.js';

export async function writePrometheusConfig(spec: NodePlan, engineIndexes: number[], files: { prometheusConfig: string; prometheusRules: string }): Promise<void> {
  if (!spec.prometheus) throw new Error(`node ${spec.node} has observability off (CONFIG_VLLM_OBSERVABILITY_ENABLED)`);
  await writeFileAtomic(files.prometheusRules, deployedAlertRules(await readShippedAlertRules(), spec.prometheus.alertThresholds));
  await writeFileAtomic(files.prometheusConfig, prometheusConfig(spec, engineIndexes, files.prometheusRules));
}
