// make vllm-monitor: the observability services of every node, each checked
// to answer. The local target's services come from the stack spec; another
// target adds its own list (Kubernetes: port-forwards, Grafana's password)
// and reuses the checks and the formatting.
import { PrometheusApi } from './prometheus-api.js';
import type { NodePlan } from '../vocabulary/node-plan.js';

export type ServiceKind = 'prometheus' | 'grafana';

export interface MonitoredService {
  node: string;
  service: ServiceKind;
  url: string;
  /** What to do when it does not answer. */
  hint: string;
  /** Grafana's login, where the target knows it (never printed). */
  auth?: { user: string; password: string };
}

export interface ServiceCheck {
  node: string;
  service: ServiceKind;
  url: string;
  ok: boolean;
  detail: string;
  targets_up?: number;
  targets_total?: number;
  targets_down?: string[];
  alerts_firing?: string[];
}

const TIMEOUT_MS = 3_000;

/** Prometheus of each local node that has observability on: where it listens, as the controller reaches it. */
export function localServices(nodes: { host: string | null; spec: NodePlan }[]): MonitoredService[] {
  return nodes.flatMap(({ host, spec }) => spec.prometheus === null ? [] : [{
    node: spec.node,
    service: 'prometheus' as const,
    url: `http://${host ?? '127.0.0.1'}:${spec.prometheus.port}`,
    hint: `is the stack deployed? run make vllm (make vllm-status shows what runs; Prometheus' log is ${spec.workDir}/logs/prometheus.log)`,
  }]);
}

function targetName(labels: Record<string, string>): string {
  return labels.engine ?? labels.component ?? labels.job ?? labels.instance ?? 'target';
}

async function checkPrometheus(s: MonitoredService): Promise<ServiceCheck> {
  const base = { node: s.node, service: s.service, url: s.url };
  const api = new PrometheusApi(s.url, TIMEOUT_MS);
  if (!(await api.ready())) return { ...base, ok: false, detail: `does not answer ${s.url}/-/ready; ${s.hint}` };
  try {
    const [targets, alerts] = await Promise.all([api.targets(), api.alerts()]);
    const down = targets.filter((t) => t.health !== 'up').map((t) => `${targetName(t.labels)} (${t.lastError || t.health})`);
    const firing = alerts.filter((a) => a.state === 'firing').map((a) => `${a.labels.alertname}${a.labels.engine ? ` ${a.labels.engine}` : ''}`);
    const up = targets.length - down.length;
    const detail = [
      `ready: ${up}/${targets.length} targets up${down.length > 0 ? ` (down: ${down.join(', ')})` : ''}`,
      firing.length > 0 ? `alerts firing: ${firing.join(', ')}` : 'no alert firing',
    ].join(', ');
    return { ...base, ok: true, detail, targets_up: up, targets_total: targets.length, targets_down: down, alerts_firing: firing };
  } catch (err) {
    return { ...base, ok: false, detail: `answers /-/ready but not its API: ${(err as Error).message}` };
  }
}

async function checkGrafana(s: MonitoredService): Promise<ServiceCheck> {
  const base = { node: s.node, service: s.service, url: s.url };
  const headers: Record<string, string> = s.auth ? { authorization: `Basic ${Buffer.from(`${s.auth.user}:${s.auth.password}`).toString('base64')}` } : {};
  try {
    const res = await fetch(`${s.url}/api/health`, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await res.json().catch(() => null) as { database?: string; version?: string } | null;
    if (res.ok && body?.database === 'ok') return { ...base, ok: true, detail: `ready (Grafana ${body.version ?? '?'})` };
    return { ...base, ok: false, detail: `answers ${s.url}/api/health with HTTP ${res.status}${body?.database ? `, database ${body.database}` : ''}; ${s.hint}` };
  } catch (err) {
    return { ...base, ok: false, detail: `does not answer ${s.url}/api/health (${(err as Error).message}); ${s.hint}` };
  }
}

export function checkService(s: MonitoredService): Promise<ServiceCheck> {
  return s.service === 'prometheus' ? checkPrometheus(s) : checkGrafana(s);
}

export function formatMonitor(checks: ServiceCheck[], dashboards: string[]): string {
  const width = Math.max(...checks.map((c) => c.node.length));
  const lines = checks.map((c) => `${c.ok ? '✅' : '❌'} ${c.node.padEnd(width)}  ${c.service.padEnd(10)}  ${c.url}  ${c.detail}`);
  if (!checks.some((c) => c.service === 'grafana') && dashboards.length > 0) {
    lines.push('', `Grafana: import ${dashboards.join(', ')} and choose the Prometheus above as its data source (observability/README.md says how).`);
  }
  return lines.join('\n');
}
