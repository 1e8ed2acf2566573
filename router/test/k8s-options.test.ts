// Kubernetes discovery flags: production-stack's names and defaults, and a
// clear error for a namespace or selector the API server would refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLabelSelector, parseK8sOptions } from '../src/discovery/k8s-options.js';

test('defaults are production-stack\'s: namespace default, port 8000, pod-ip, every pod', () => {
  assert.deepEqual(parseK8sOptions({}), {
    namespace: 'default', labelSelector: '', port: 8000, type: 'pod-ip', watcherTimeoutSeconds: 0, modelsTimeoutSeconds: 10, unhealthyAfterSeconds: 60,
  });
});

test('the values the chart renders are accepted as they are', () => {
  const o = parseK8sOptions({ 'k8s-namespace': 'vllm-system', 'k8s-label-selector': 'environment=test,release=test', 'k8s-service-discovery-type': 'service-name', 'k8s-port': '8080' });
  assert.equal(o.namespace, 'vllm-system');
  assert.equal(o.labelSelector, 'environment=test,release=test');
  assert.equal(o.type, 'service-name');
  assert.equal(o.port, 8080);
});

test('label selectors: every form Kubernetes knows passes, anything else is named', () => {
  for (const ok of ['', 'app=engine', 'app==engine,tier!=cache', 'env in (prod, test),!canary', 'app.kubernetes.io/name=vllm', 'release notin (a),model', 'x=', 'gpu>1']) {
    assert.equal(checkLabelSelector(ok), ok.trim(), ok);
  }
  for (const [bad, part] of [['app=engine,', ''], ['app=en gine', 'app=en gine'], ['=x', '=x'], ['a in b', 'a in b'], ['app=~x', 'app=~x']] as const) {
    assert.throws(() => checkLabelSelector(bad), (e: Error) => e.message.includes(`"${part}"`) && e.message.includes('--k8s-label-selector'), bad);
  }
});

test('bad values stop the router with the flag and what is expected', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'k8s-namespace': 'Prod' }, /--k8s-namespace Prod: a namespace is a DNS label/],
    [{ 'k8s-service-discovery-type': 'dns' }, /--k8s-service-discovery-type dns: expected pod-ip or service-name/],
    [{ 'k8s-port': '0' }, /--k8s-port 0: expected a whole number from 1 to 65535/],
    [{ 'k8s-port': '80a' }, /--k8s-port 80a/],
    [{ 'k8s-unhealthy-after': '0' }, /--k8s-unhealthy-after 0: expected a whole number from 1/],
    [{ 'backend-health-check-timeout-seconds': '-1' }, /--backend-health-check-timeout-seconds -1/],
  ];
  for (const [flags, message] of cases) assert.throws(() => parseK8sOptions(flags), message);
});
