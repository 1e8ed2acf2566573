// make vllm-monitor on Kubernetes: the port-forward lines users keep, and the
// checks through forwards to the monitoring pods, which fail plainly when the
// pods are not there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { releaseNames } from '../scripts/lib/helm/names.js';
import { kubeMonitorPlan, kubeMonitorServices, monitoringNames } from '../scripts/lib/targets/kube/monitor-kube.js';
import { checkService } from '../scripts/lib/observability/monitor.js';
import { KubeApiServer } from './support/kube-api-server.js';

const names = releaseNames('vllm', 'baseline', 'vllm-system', 'facebook/opt-125m');

test('the port-forward lines keep Prometheus and Grafana at the configured ports of the right context', () => {
  assert.deepEqual(kubeMonitorPlan(names, { kubeconfig: '/home/u/.kube/config', context: 'minikube' }, { prometheus: 9090, grafana: 3000 }).commands, [
    'kubectl --kubeconfig /home/u/.kube/config --context minikube --namespace vllm-system port-forward svc/vllm-baseline-kps-prometheus 9090:9090',
    'kubectl --kubeconfig /home/u/.kube/config --context minikube --namespace vllm-system port-forward svc/vllm-baseline-grafana 3000:80',
  ]);
  assert.equal(monitoringNames(names).prometheusService, 'vllm-baseline-kps-prometheus');
});

test('without the monitoring pods both checks fail, saying what to look at', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  const forwarded = await kubeMonitorServices(kc, names, 'vllm-baseline');
  t.after(() => forwarded.close());
  const checks = await Promise.all(forwarded.services.map(checkService));
  assert.deepEqual(checks.map((c) => [c.service, c.ok]), [['prometheus', false], ['grafana', false]]);
  for (const c of checks) assert.match(c.detail, /is the release deployed with observability\? make vllm/);
  assert.ok(server.requests.some((r) => r.query.labelSelector === 'operator.prometheus.io/name=vllm-baseline-kps-prometheus'), 'looked for the Prometheus pod by its operator label');
});
