// make vllm-monitor on Kubernetes: Prometheus and Grafana run in the
// cluster (kube-prometheus-stack, with the baseline release). The monitor
// forwards to their pods for the checks, and prints the kubectl port-forward
// lines that keep them at CONFIG_VLLM_PROMETHEUS_PORT and CONFIG_VLLM_GRAFANA_PORT.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from '../../helm/commands.js';
import type { ReleaseNames } from '../../helm/names.js';
import type { MonitoredService } from '../../observability/monitor.js';
import { ManagedForward } from './port-forward.js';
import { selector } from './kube-stack.js';
import { clients } from './cluster.js';

/** kube-prometheus-stack's names, fixed by fullnameOverride in the values (helmValues). */
export function monitoringNames(names: ReleaseNames) {
  const kps = `${names.release}-kps`;
  return {
    kps,
    prometheusService: `${kps}-prometheus`,
    prometheusPodLabels: { 'operator.prometheus.io/name': `${kps}-prometheus` },
    grafanaService: `${names.release}-grafana`,
    grafanaPodLabels: { 'app.kubernetes.io/name': 'grafana', 'app.kubernetes.io/instance': names.release },
  };
}

export interface KubeMonitorPlan {
  /** Commands that keep the services at fixed local ports, for the user. */
  commands: string[];
  prometheusPort: number;
  grafanaPort: number;
}

export function kubeMonitorPlan(names: ReleaseNames, access: ClusterAccess, ports: { prometheus: number; grafana: number }): KubeMonitorPlan {
  const m = monitoringNames(names);
  const kubectl = ['kubectl', ...(access.kubeconfig ? ['--kubeconfig', access.kubeconfig] : []), ...(access.context ? ['--context', access.context] : []), '--namespace', names.namespace, 'port-forward'];
  return {
    commands: [
      [...kubectl, `svc/${m.prometheusService}`, `${ports.prometheus}:9090`].join(' '),
      [...kubectl, `svc/${m.grafanaService}`, `${ports.grafana}:80`].join(' '),
    ],
    prometheusPort: ports.prometheus,
    grafanaPort: ports.grafana,
  };
}

/** Forwards to the Prometheus and Grafana pods and the services to check through them; close the forwards after. */
export async function kubeMonitorServices(kc: KubeConfig, names: ReleaseNames, node: string): Promise<{ services: MonitoredService[]; close: () => Promise<void> }> {
  const m = monitoringNames(names);
  const c = await clients(kc);
  const podOf = (labels: Record<string, string>) => async () => {
    const pods = await c.core.listNamespacedPod({ namespace: names.namespace, labelSelector: selector(labels) });
    return pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name ?? null;
  };
  const prometheus = await new ManagedForward(kc, names.namespace, podOf(m.prometheusPodLabels), 9090, `Prometheus of ${names.release}`).start();
  const grafana = await new ManagedForward(kc, names.namespace, podOf(m.grafanaPodLabels), 3000, `Grafana of ${names.release}`).start();
  const secret = await c.core.readNamespacedSecret({ name: names.grafanaAdmin, namespace: names.namespace }).catch(() => null);
  const decode = (k: string) => Buffer.from(secret?.data?.[k] ?? '', 'base64').toString('utf8');
  const hint = `is the release deployed with observability? make vllm; kubectl -n ${names.namespace} get pods shows the monitoring pods`;
  return {
    services: [
      { node, service: 'prometheus', url: prometheus.url, hint },
      { node, service: 'grafana', url: grafana.url, hint, ...(secret ? { auth: { user: decode('admin-user'), password: decode('admin-password') } } : {}) },
    ],
    close: async () => {
      await prometheus.close();
      await grafana.close();
    },
  };
}
