// What the production-stack chart (vllm-stack) needs to ship this project's
// dashboards and alert rules, as Helm values (pure).
//
// The chart's own `grafanaDashboards` switch renders only the JSON files inside
// the chart (its dashboards/ folder), so ours travel as `extraObjects`: a
// ConfigMap per dashboard labelled for the Grafana sidecar of
// kube-prometheus-stack (grafana_dashboard: "1", the chart's default label),
// and a PrometheusRule with the alert rules. The chart passes every extra
// object through `tpl`, which would read Grafana's `{{label}}` legends and
// Prometheus' `{{ $labels.node }}` annotations as Helm actions: they are
// escaped so that the rendered manifest carries the text unchanged.
// ServiceMonitor relabelings give the scraped series the node, role,
// component and engine labels the dashboards and alerts select on.
import { parse } from 'yaml';
import type { ShippedDashboard } from './dashboards.js';

export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' };
/** The chart's ServiceMonitors carry it, and its kube-prometheus-stack values select on it. */
export const PART_OF_LABEL = { 'app.kubernetes.io/part-of': 'vllm-stack' };

export interface ObservabilityValuesInput {
  dashboards: ShippedDashboard[];
  /** The deployed alert rules (deployedAlertRules()), or null for none. */
  alertRules: string | null;
  node: string;
  role: 'baseline' | 'dev';
  /** ServiceMonitor scrape interval, seconds (CONFIG_VLLM_PROMETHEUS_SCRAPE_INTERVAL). */
  scrapeIntervalSeconds: number;
}

/** Text that `tpl` renders back to itself: every `{{` becomes an action printing `{{`. */
export function escapeForTpl(text: string): string {
  return text.replace(/\{\{/g, '{{ "{{" }}');
}

/** The same value with every string in it escaped for `tpl`. */
function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escapeForTpl(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeStrings(v)]));
  return value;
}

/** ConfigMap names: the chart's `<release>-grafana-<file>` pattern, templated on the release. */
function configMapName(file: string): string {
  const base = file.replace(/\.json$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `{{ .Release.Name }}-grafana-${base}`;
}

function relabelings(labels: Record<string, string>, extra: Record<string, unknown>[] = []): Record<string, unknown>[] {
  return [
    ...Object.entries(labels).map(([targetLabel, replacement]) => ({ action: 'replace', targetLabel, replacement })),
    ...extra,
  ];
}

export function observabilityChartValues(input: ObservabilityValuesInput): Record<string, unknown> {
  const common = { node: input.node, role: input.role };
  const interval = `${input.scrapeIntervalSeconds}s`;
  // Prometheus refuses a scrape timeout longer than the interval.
  const scrapeTimeout = `${Math.min(input.scrapeIntervalSeconds, 10)}s`;
  const extraObjects: Record<string, unknown>[] = input.dashboards.map((d) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(d.file),
      namespace: '{{ .Release.Namespace }}',
      labels: { ...GRAFANA_DASHBOARD_LABEL, ...PART_OF_LABEL },
    },
    data: { [d.file]: escapeForTpl(d.json) },
  }));
  if (input.alertRules !== null) {
    const rules = parse(input.alertRules) as { groups: Record<string, unknown>[] };
    extraObjects.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: '{{ .Release.Name }}-vllm-alerts', namespace: '{{ .Release.Namespace }}', labels: { ...PART_OF_LABEL } },
      spec: { groups: escapeStrings(rules.groups) },
    });
  }
  return {
    servingEngineSpec: {
      serviceMonitor: {
        enabled: true, interval, scrapeTimeout,
        relabelings: relabelings({ ...common, component: 'engine' }, [
          { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'engine' },
        ]),
      },
    },
    routerSpec: {
      serviceMonitor: { enabled: true, interval, scrapeTimeout, relabelings: relabelings({ ...common, component: 'router' }) },
    },
    // The chart's own dashboards are replaced by ours, whose every panel is tested.
    grafanaDashboards: { enabled: false },
    extraObjects,
    // The operator loads PrometheusRules by label, as the chart already selects its ServiceMonitors.
    ...(input.alertRules !== null ? { 'kube-prometheus-stack': { prometheus: { prometheusSpec: { ruleSelector: { matchLabels: { ...PART_OF_LABEL } } } } } } : {}),
  };
}
