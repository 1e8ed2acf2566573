// Bring-up of Kubernetes nodes: the host prerequisites with their fixes, the
// cluster checks against the API test server (reachable, SelfSubjectAccessReview,
// GPU capacity, KEDA), and `make bringup` here, where minikube cannot run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { releaseNames } from '../scripts/lib/helm/names.js';
import { checkCluster, NAMESPACE_NEEDS, type GpuVars } from '../scripts/lib/targets/kube/cluster-check.js';
import { checkHost, type HostFacts } from '../scripts/lib/targets/kube/host-check.js';
import { kconfigMissing } from './support/configure.js';
import { KubeApiServer, type KubeApiOptions } from './support/kube-api-server.js';
import { join } from 'node:path';
import { $ } from 'zx';
import { REPO, tempProject } from './support/temp-project.js';

const FACTS: HostFacts = { docker: '/usr/bin/docker', podman: null, engineError: null, minikube: '/usr/local/bin/minikube', nvidiaSmi: null, nvidiaCtk: null, kernel: '6.1.0', cpus: 8, memoryMiB: 32768 };
const MINIKUBE = { vllm_minikube_cpus: 4, vllm_minikube_memory: 16384, vllm_minikube_version: 'v1.37.0', vllm_engine: 'vllm', vllm_request_gpu: 0 };

test('host prerequisites: each missing one is named with its fix and the option to change', () => {
  assert.deepEqual(checkHost(MINIKUBE, FACTS).problems, []);
  const bare = checkHost(MINIKUBE, { ...FACTS, docker: null, minikube: null, cpus: 2, memoryMiB: 8000 });
  assert.equal(bare.problems.length, 3);
  assert.match(bare.problems[0] ?? '', /neither docker nor podman is installed.*apt-get install docker\.io.*podman/);
  assert.match(bare.problems[1] ?? '', /CONFIG_VLLM_MINIKUBE_CPUS=4 but this machine has 2 CPUs/);
  assert.match(bare.problems[2] ?? '', /CONFIG_VLLM_MINIKUBE_MEMORY=16384 \(MiB\) but this machine has 8000 MiB/);
  assert.ok(bare.lines.some((l) => /minikube is not installed: bring-up installs the pinned v1\.37\.0.*https:\/\/minikube\.sigs\.k8s\.io/.test(l)));
  assert.match(checkHost(MINIKUBE, { ...FACTS, engineError: 'Cannot connect to the Docker daemon' }).problems[0] ?? '', /docker is installed .* but does not answer .*systemctl start docker/);
  const gpu = checkHost({ ...MINIKUBE, vllm_request_gpu: 1 }, FACTS).problems;
  assert.match(gpu.join('\n'), /CONFIG_VLLM_REQUEST_GPU=1 but the NVIDIA driver is not installed/);
  assert.match(gpu.join('\n'), /NVIDIA container toolkit/);
  assert.deepEqual(checkHost({ ...MINIKUBE, vllm_engine: 'sim', vllm_request_gpu: 1 }, FACTS).problems, [], 'the simulator asks for no GPU');
});

async function cluster(t: { after: (fn: () => Promise<void>) => void }, authorize?: KubeApiOptions['authorize']) {
  const server = await KubeApiServer.start({ ...(authorize ? { authorize } : {}) });
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return { server, kc };
}

const GPU_VARS: GpuVars = { vllm_engine: 'vllm', vllm_request_gpu: 1, vllm_replica_count: 2, vllm_autoscaling_enabled: false, vllm_helm_namespace: 'vllm-system' };
const baseline = releaseNames('vllm', 'baseline', 'vllm-system', 'facebook/opt-125m');
const dev = releaseNames('vllm', 'dev', 'vllm-system', 'facebook/opt-125m');

test('cluster checks: reachable, rights asked with SelfSubjectAccessReview, GPUs counted against what A/B needs, KEDA when autoscaling', async (t) => {
  const { server, kc } = await cluster(t);
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-a' }, status: { allocatable: { 'nvidia.com/gpu': '2' } } });
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'cpu-b' }, status: { allocatable: { cpu: '16' } } });
  const lines = await checkCluster({ kc, names: [baseline], vars: GPU_VARS });
  assert.match(lines.join('\n'), /cluster http:\/\/127\.0\.0\.1:\d+ \(context test\) answers: Kubernetes v1\.33/);
  assert.match(lines.join('\n'), /may create the chart's objects in namespace vllm-system \(and create the namespace\)/);
  assert.match(lines.join('\n'), /GPUs: 2 replica\(s\) × 1 GPU\(s\) = 2 nvidia\.com\/gpu needed; the nodes advertise 2 \(cpu-b: 0, gpu-a: 2\)/);
  const reviews = server.requests.filter((r) => r.path.endsWith('/selfsubjectaccessreviews')).length;
  assert.equal(reviews, NAMESPACE_NEEDS.length + 1, 'every right asked, and the namespace because it is missing');
  // A/B on one cluster needs twice the GPUs: the numbers are in the error.
  await assert.rejects(checkCluster({ kc, names: [baseline, dev], vars: GPU_VARS }), /not enough GPUs: 2 replica\(s\) × 1 GPU\(s\) × 2 nodes \(A\/B\) = 4 nvidia\.com\/gpu needed; the nodes advertise 2 \(cpu-b: 0, gpu-a: 2\)\. Lower CONFIG_VLLM_REPLICA_COUNT/);
  await assert.rejects(checkCluster({ kc, names: [baseline], vars: { ...GPU_VARS, vllm_gpu_type: 'nvidia.com/mig-4g.71gb' } }), /0 \(cpu-b: 0, gpu-a: 0\)/);
  // KEDA: its CRD must exist.
  const autoscaled = { ...GPU_VARS, vllm_engine: 'sim', vllm_autoscaling_enabled: true, vllm_autoscaling_max_replicas: 4 };
  await assert.rejects(checkCluster({ kc, names: [baseline], vars: autoscaled }), /KEDA is not installed in the cluster \(no CustomResourceDefinition scaledobjects\.keda\.sh\): helm install keda/);
  server.put({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'scaledobjects.keda.sh' } });
  assert.match((await checkCluster({ kc, names: [baseline], vars: autoscaled })).join('\n'), /KEDA is installed/);
});

test('cluster checks: missing rights are listed with what needs them; an unreachable cluster says which one and what to check', async (t) => {
  const { server, kc } = await cluster(t, (a) => !(a.resource === 'secrets' || (a.resource === 'pods' && a.subresource === 'portforward')) || 'namespace is read-only for you');
  server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vllm-system' } });
  await assert.rejects(checkCluster({ kc, names: [baseline], vars: { ...GPU_VARS, vllm_engine: 'sim' } }),
    /you may not, in namespace vllm-system: create secrets \(the API key, HF token and Helm's release record\): namespace is read-only for you; create pods\/portforward \(reaching the router and engines from this node\).*set CONFIG_VLLM_HELM_NAMESPACE/s);
  const gone = new k8s.KubeConfig();
  gone.loadFromString(server.kubeconfig());
  await server.close();
  await assert.rejects(checkCluster({ kc: gone, names: [baseline], vars: GPU_VARS, timeoutMs: 3000 }), /cannot reach the cluster http:\/\/127\.0\.0\.1:\d+ \(context test\).*VLLM_KUBECONFIG.*VLLM_K8S_CONTEXT/s);
});

test('make defconfig-vllm && make bringup on a machine without a working docker and minikube fails naming them and how to get them', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  assert.equal((await p.make('defconfig-vllm')).exitCode, 0);
  const out = await p.make('bringup');
  if (out.exitCode === 0) return t.skip('this machine can run minikube: nothing to refuse');
  const text = `${out.stdout}${out.stderr}`;
  assert.match(text, /node vllm-baseline cannot run minikube yet/);
  assert.match(text, /docker (is installed .* but does not answer|nor podman is installed)/);
  assert.match(text, /minikube (is not installed: bring-up installs the pinned v1\.37\.0|at )/);
  assert.match(text, /https:\/\/minikube\.sigs\.k8s\.io\/docs\/start\/|systemctl start docker|apt-get install docker\.io/);
});

test('make vllm-status on a Kubernetes configuration reads the release from the cluster: Deployments ready/total, images, hints', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  // Pods that never turn ready, as when the scheduler finds no room.
  const server = await KubeApiServer.start({ anonymous: true, pods: { start: () => new Promise<void>(() => undefined) } });
  t.after(() => Promise.all([p.remove(), server.close()]));
  server.put({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'vllm-baseline-opt-125m-deployment-vllm', namespace: 'vllm-system', labels: { 'app.kubernetes.io/instance': 'vllm-baseline' } },
    spec: { replicas: 2, selector: { matchLabels: { model: 'opt' } }, template: { metadata: { labels: { model: 'opt' } }, spec: { containers: [{ name: 'vllm', image: 'openeuler/vllm-cpu:0.9.1-oe2403lts' }] } } } });
  server.put({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'vllm-system' }, type: 'Warning', reason: 'FailedScheduling', message: '0/1 nodes are available: 1 Insufficient cpu.', involvedObject: { name: 'vllm-baseline-opt-125m-deployment-vllm-abc' } });
  const kubeconfig = await server.writeKubeconfig(join(p.dir, 'kubeconfig'));
  assert.equal((await p.make('defconfig-vllm')).exitCode, 0);
  const out = await $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, VLLM_KUBECONFIG: kubeconfig, VLLM_K8S_CONTEXT: 'test' } })`node ${join(REPO, 'dist', 'scripts', 'vllm-status.js')}`;
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /vllm-baseline: degraded \(release vllm-baseline in vllm-system, helm: /);
  assert.match(out.stdout, /0\/2 ready {2}vllm-baseline-opt-125m-deployment-vllm {2}openeuler\/vllm-cpu:0\.9\.1-oe2403lts/);
  assert.match(out.stdout, /FailedScheduling: 0\/1 nodes are available: 1 Insufficient cpu/);
  assert.match(out.stdout, /→ pods not ready: kubectl -n vllm-system get pods -l app\.kubernetes\.io\/instance=vllm-baseline/);
});
