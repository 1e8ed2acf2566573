// Bring-up's checks of a release as rendered (targets/kube/pod-requests.ts,
// served-kinds.ts, rendered-check.ts): pods that cannot be scheduled and kinds
// the cluster does not serve are named with the setting to change, before helm
// install; and every shipped minikube defconfig fits the minikube it starts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { stringify } from 'yaml';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { templateArgs } from '../scripts/lib/helm/commands.js';
import { releaseNames } from '../scripts/lib/helm/names.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { loadKubeConfig } from '../scripts/lib/targets/kube/access.js';
import { fitProblems, nodeRoom, parseQuantity, podDemands, type RenderedObject } from '../scripts/lib/targets/kube/pod-requests.js';
import { checkRendered, parseManifests } from '../scripts/lib/targets/kube/rendered-check.js';
import { projectImageFindings } from '../scripts/lib/targets/kube/project-images.js';
import { kindsOfCrds, unservedKinds } from '../scripts/lib/targets/kube/served-kinds.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { KubeApiServer } from './support/kube-api-server.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');
const NAMES = releaseNames('vllm', 'baseline', 'vllm-system', 'facebook/opt-125m');
/** What minikube's own pods request on its node (kubeadm's static pods and CoreDNS): etcd, apiserver, controller-manager, scheduler, coredns. */
const MINIKUBE_SYSTEM = { cpu: 100 + 250 + 200 + 100 + 100, memory: (100 + 70) * 2 ** 20 };

const deployment = (name: string, cpu: string, memory: string, replicas = 1): RenderedObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu, memory } } }] } } },
});

test('Kubernetes quantities: millicores, binary and decimal suffixes, exponents; a malformed one is named', () => {
  for (const [q, n] of [['400m', 0.4], ['4', 4], ['1.5', 1.5], ['16Gi', 16 * 2 ** 30], ['500Mi', 500 * 2 ** 20], ['1G', 1e9], ['128974848', 128974848], ['129e6', 129e6], ['100k', 1e5]] as const) {
    assert.equal(parseQuantity(q), n, q);
  }
  assert.equal(parseQuantity(2), 2);
  assert.throws(() => parseQuantity('16 GB'), /"16 GB" is not a Kubernetes quantity/);
});

test('a pod that no node has room for is named with what it asks, what is free and the setting to change; what fits says nothing', () => {
  // The old `vllm` defconfig on its 4-CPU, 16 GiB minikube: the engine's 4 CPUs cannot fit beside minikube's own pods.
  const minikube = nodeRoom([{ name: 'minikube', allocatable: { cpu: '4', memory: '16384Mi', pods: '110' } }], [{ node: 'minikube', requests: MINIKUBE_SYSTEM }]);
  const old = podDemands([deployment(NAMES.engineDeployment, '4', '16Gi'), deployment(NAMES.routerDeployment, '400m', '1000Mi')], NAMES);
  const problems = fitProblems(old, minikube, 'give minikube more: CONFIG_VLLM_MINIKUBE_CPUS');
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0] ?? '', /^Deployment vllm-baseline-opt-125m-deployment-vllm cannot be scheduled: 4 CPU requested, at most 3250m CPU free on a node; 16Gi memory requested, at most 15\.8Gi memory free on a node .*Lower CONFIG_VLLM_REQUEST_CPU, CONFIG_VLLM_REQUEST_MEMORY.* or give minikube more: CONFIG_VLLM_MINIKUBE_CPUS/);
  // Each fits alone, but not both: the second replica is the one named.
  const two = podDemands([deployment(NAMES.engineDeployment, '2', '4Gi', 2)], NAMES);
  assert.match(fitProblems(two, minikube, 'x').join('\n'), /\(pod 2 of 2\) cannot be scheduled: 2 CPU requested, at most 1250m CPU free/);
  assert.deepEqual(fitProblems(podDemands([deployment(NAMES.engineDeployment, '2', '8Gi'), deployment(NAMES.routerDeployment, '400m', '1000Mi')], NAMES), minikube, 'x'), []);
  // GPUs are a resource like the others: a node without them has none free.
  const gpu = podDemands([{ ...deployment(NAMES.engineDeployment, '1', '1Gi'), spec: { template: { spec: { containers: [{ resources: { requests: { cpu: '1', 'nvidia.com/gpu': '1' } } }] } } } }], NAMES);
  assert.match(fitProblems(gpu, minikube, 'x').join('\n'), /1 nvidia\.com\/gpu requested, at most 0 nvidia\.com\/gpu free/);
});

test('kinds no CRD serves are named with what provides them; built-in kinds and the chart\'s own CRDs are served', () => {
  const objects: RenderedObject[] = [
    deployment('d', '1', '1Gi'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'engines' } },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'rules' } },
    { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'so' } },
    { apiVersion: 'production-stack.vllm.ai/v1alpha1', kind: 'LoraAdapter', metadata: { name: 'a' } },
    { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
  ];
  const chartCrd = { spec: { group: 'production-stack.vllm.ai', names: { kind: 'LoraAdapter' }, versions: [{ name: 'v1alpha1', served: true }] } };
  const missing = unservedKinds(objects, kindsOfCrds([chartCrd]));
  assert.equal(missing.length, 4, missing.join('\n'));
  assert.match(missing[0] ?? '', /does not serve ServiceMonitor \(monitoring\.coreos\.com\/v1\), which the release renders \(engines\).*Prometheus operator's CRDs, which kube-prometheus-stack installs.*or turn CONFIG_VLLM_OBSERVABILITY_ENABLED off/);
  assert.match(missing[1] ?? '', /PrometheusRule/);
  assert.match(missing[2] ?? '', /ScaledObject.*KEDA/);
  assert.match(missing[3] ?? '', /Widget.*a CustomResourceDefinition of group example\.com/);
  const kps = { spec: { group: 'monitoring.coreos.com', names: { kind: 'ServiceMonitor' }, versions: [{ name: 'v1', served: true }] } };
  assert.equal(unservedKinds(objects, kindsOfCrds([chartCrd, kps])).filter((m) => /ServiceMonitor/.test(m)).length, 0);
  // A chart that carries kube-prometheus-stack as a sub-chart brings the operator's CRDs with it.
  assert.equal(unservedKinds(objects, [], new Set(['monitoring.coreos.com'])).filter((m) => /monitoring/.test(m)).length, 0);
});

test('this project\'s images: on minikube, missing from its node is a problem naming make vllm-images; loaded ones pass', () => {
  const images = [{ tag: 'ghcr.io/vllm-stack-harness/router:0.1.0', usedBy: ['vllm-baseline router'] }, { tag: 'engine-sim:dev', usedBy: ['vllm-baseline engines'] }];
  const none = projectImageFindings(images, [[]], 'minikube');
  assert.equal(none.problems.length, 1);
  assert.match(none.problems[0] ?? '', /images ghcr\.io\/vllm-stack-harness\/router:0\.1\.0 \(vllm-baseline router\), engine-sim:dev \(vllm-baseline engines\) are not in minikube and published nowhere.*run make vllm-images/);
  // Nodes list a docker.io image by its long name.
  const loaded = projectImageFindings(images, [['registry.k8s.io/pause:3.10'], ['ghcr.io/vllm-stack-harness/router:0.1.0', 'docker.io/library/engine-sim:dev']], 'minikube');
  assert.deepEqual(loaded.problems, []);
  assert.match(loaded.lines.join(''), /✅ this project's images are loaded in minikube/);
});

test('this project\'s images on an existing cluster: a name under the unpublished default that no node holds is refused, naming the setting and the push; a registry\'s name is left to the pull; a held one passes', () => {
  const defaults = [{ tag: 'ghcr.io/vllm-stack-harness/router:0.1.0', usedBy: ['vllm-baseline router'] }, { tag: 'ghcr.io/vllm-stack-harness/engine-sim:0.1.0', usedBy: ['vllm-baseline engines', 'vllm-dev engines'] }];
  const refused = projectImageFindings(defaults, [['registry.k8s.io/pause:3.10']], 'existing');
  assert.equal(refused.problems.length, 2);
  assert.match(refused.problems[0] ?? '', /ghcr\.io\/vllm-stack-harness\/router:0\.1\.0 \(vllm-baseline router\) is published nowhere and no node holds it.*make vllm-images.*docker push REGISTRY\/router:0\.1\.0.*set CONFIG_VLLM_ROUTER_IMAGE to REGISTRY\/router$/);
  assert.match(refused.problems[1] ?? '', /engine-sim:0\.1\.0 \(vllm-baseline engines, vllm-dev engines\).*set CONFIG_VLLM_ENGINE_IMAGE_REPO to REGISTRY\/engine-sim$/);
  // Pushed to a registry the configuration names: only the pull can tell, bring-up says where.
  const pushed = [{ tag: 'registry.example:5000/team/router:0.1.0', usedBy: ['vllm-baseline router'] }, { tag: 'team/engine-sim:0.1.0', usedBy: ['vllm-baseline engines'] }];
  const named = projectImageFindings(pushed, [[]], 'existing');
  assert.deepEqual(named.problems, []);
  assert.match(named.lines.join(''), /pulled at deploy from their registries \(registry\.example:5000, docker\.io\)/);
  // Loaded into the nodes by hand (kind load, a pre-pull): the default names are there.
  const held = projectImageFindings(defaults, [['ghcr.io/vllm-stack-harness/router:0.1.0', 'ghcr.io/vllm-stack-harness/engine-sim:0.1.0']], 'existing');
  assert.deepEqual(held.problems, []);
  assert.match(held.lines.join(''), /✅ the nodes hold ghcr\.io\/vllm-stack-harness\/router:0\.1\.0, ghcr\.io\/vllm-stack-harness\/engine-sim:0\.1\.0/);
  assert.deepEqual(projectImageFindings([], [[]], 'minikube'), { lines: [], problems: [] });
});

test('checkRendered reads the nodes, the pods already placed and the CRDs from the cluster', async (t) => {
  const server = await KubeApiServer.start({ anonymous: true });
  const dir = await mkdtemp(join(tmpdir(), 'rendered-check-'));
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'minikube' }, status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' } } });
  server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
  server.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd-minikube', namespace: 'kube-system' }, spec: { nodeName: 'minikube', containers: [{ name: 'etcd', resources: { requests: { cpu: '750m', memory: '170Mi' } } }] }, status: { phase: 'Running' } });
  const manifests = join(dir, 'manifests.yaml');
  const render = async (engineCpu: string) => writeFile(manifests, [deployment(NAMES.engineDeployment, engineCpu, '8Gi'), deployment(NAMES.routerDeployment, '400m', '1000Mi'),
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'engines' } }].map((o) => stringify(o)).join('---\n'));
  const kc = await loadKubeConfig({ kubeconfig: await server.writeKubeconfig(join(dir, 'kubeconfig')), context: 'test' });
  const release = { names: NAMES, manifestsFile: manifests, chartDir: dir };

  await render('4');
  const bad = await checkRendered(kc, [release], 'give minikube more');
  assert.equal(bad.problems.length, 2, bad.problems.join('\n'));
  assert.match(bad.problems.join('\n'), /ServiceMonitor/);
  assert.match(bad.problems.join('\n'), /deployment-vllm cannot be scheduled: 4 CPU requested, at most 3250m CPU free on a node/);

  await render('2');
  server.put({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'servicemonitors.monitoring.coreos.com' },
    spec: { group: 'monitoring.coreos.com', names: { kind: 'ServiceMonitor', plural: 'servicemonitors' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] } });
  const good = await checkRendered(kc, [release], 'x');
  assert.deepEqual(good.problems, []);
  assert.match(good.lines.join('\n'), /✅ the release's 2 pods fit the nodes \(2\.4 CPU, 9.0Gi requested; 1 schedulable node\(s\)\)/);
});

test('with A/B, the baseline node\'s bring-up checks both releases together: they share the cluster', async (t) => {
  const chartDir = referenceChartDir();
  const why = (await kconfigMissing()) ?? (chartDir && existsSync(HELM) ? null : 'the reference chart or .tools/bin/helm is missing (make deps)');
  if (why || !chartDir) return t.skip(why ?? '');
  const p = await tempProject();
  const server = await KubeApiServer.start({ anonymous: true });
  t.after(async () => {
    await server.close();
    await p.remove();
  });
  // Each release: 2 engines of 1 CPU and the router's 400m. A node of 3 CPUs holds one release, not two.
  await configureProject(p, 'vllm+sim+ab', { VLLM_REPLICA_COUNT: 2 });
  for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
    const plural = `${kind.toLowerCase()}s`;
    server.put({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: { group: 'monitoring.coreos.com', names: { kind, plural }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] } });
  }
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'one' }, status: { allocatable: { cpu: '3', memory: '16Gi' }, images: [{ names: ['ghcr.io/vllm-stack-harness/router:0.1.0', 'ghcr.io/vllm-stack-harness/engine-sim:0.1.0'] }] } });
  const kubeconfig = await server.writeKubeconfig(join(p.dir, 'kubeconfig'));
  const run = async (node: string) => {
    const out = await $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, VLLM_KUBECONFIG: kubeconfig, VLLM_K8S_CONTEXT: 'test', VLLM_PROD_STACK_CHART_PATH: chartDir } })`node ${join(REPO, 'dist/scripts/vllm-node.js')} check --node ${node}`;
    return out;
  };
  const baseline = await run('vllm-baseline');
  assert.equal(baseline.exitCode, 1, baseline.stdout);
  assert.match(baseline.stderr, /releases vllm-baseline and vllm-dev cannot run on this cluster as configured/);
  assert.match(baseline.stderr, /✅ this project's images are loaded in minikube/);
  const dev = await run('vllm-dev');
  assert.equal(dev.exitCode, 0, `the dev node alone fits: ${dev.stderr}`);
  assert.match(dev.stdout, /✅ the release's 3 pods fit the nodes \(2\.4 CPU/);
});

test('every shipped defconfig that starts minikube fits it: its release, as the real chart renders it, beside minikube\'s own pods', async (t) => {
  const chartDir = referenceChartDir();
  const why = (await kconfigMissing()) ?? (chartDir && existsSync(HELM) ? null : 'the reference chart or .tools/bin/helm is missing (make deps)');
  if (why || !chartDir) return t.skip(why ?? '');
  const chart = await loadChart(chartDir);
  const dir = await mkdtemp(join(tmpdir(), 'defconfig-fit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const minikubeDefconfigs = [];
  for (const name of await readdir(join(REPO, 'defconfigs'))) {
    if (/^CONFIG_VLLM_K8S_MINIKUBE=y$/m.test(await readFile(join(REPO, 'defconfigs', name), 'utf8').catch(() => ''))) minikubeDefconfigs.push(name);
  }
  assert.ok(minikubeDefconfigs.includes('vllm'), minikubeDefconfigs.join(', '));
  for (const name of minikubeDefconfigs) {
    const p = await tempProject();
    try {
      const config = await configureProject(p, name);
      const loaded = config.nodes[0];
      assert.ok(loaded);
      const { values } = checkedValues(config.vars, loaded.node, { apiKey: false, hfToken: false }, chart);
      const names = nodeReleaseNames(config.vars, loaded.node);
      await writeFile(join(dir, 'values.yaml'), stringify(values));
      const rendered = parseManifests((await $({ quiet: true })`${HELM} ${templateArgs(names, chartDir, join(dir, 'values.yaml'))}`).stdout);
      const v = config.vars as { vllm_minikube_cpus: number; vllm_minikube_memory: number; vllm_request_gpu?: number; vllm_replica_count: number };
      // minikube --gpus all gives the node the host's GPUs: as many as the defconfig asks, by its own description.
      const node = { name: 'minikube', allocatable: { cpu: String(v.vllm_minikube_cpus), memory: `${v.vllm_minikube_memory}Mi`, 'nvidia.com/gpu': (v.vllm_request_gpu ?? 0) * v.vllm_replica_count } };
      const problems = fitProblems(podDemands(rendered, names), nodeRoom([node], [{ node: 'minikube', requests: MINIKUBE_SYSTEM }]), 'raise CONFIG_VLLM_MINIKUBE_CPUS / MEMORY');
      assert.deepEqual(problems, [], `defconfig ${name} on minikube --cpus ${v.vllm_minikube_cpus} --memory ${v.vllm_minikube_memory}mb`);
    } finally {
      await p.remove();
    }
  }
});
