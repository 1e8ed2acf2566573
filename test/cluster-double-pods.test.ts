// The cluster double's pods: real helm installs the project's +sim chart
// values with --wait; the engines and the router run the command lines the
// chart rendered, as processes of this checkout's dist/, each on its own
// loopback address, Ready from their rendered probes; the router discovers
// the engines through the double. The harness's KubeStack serves a completion
// through its port-forward, scales the engines and kills one; what does not fit
// the node stays Pending with FailedScheduling. Each Deployment owns one
// ReplicaSet owning its pods; kubectl rollout status follows them; a helm
// upgrade changing the router's template rolls it to a new ReplicaSet and
// kubectl rollout undo back; uninstall leaves no ReplicaSet, pod or process.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { $ } from 'zx';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { installArgs, uninstallArgs } from '../scripts/lib/helm/commands.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { loadKubeConfig } from '../scripts/lib/targets/kube/access.js';
import { quickTest } from '../scripts/lib/smoke/quick-test.js';
import { KubeStack } from '../scripts/lib/targets/kube/kube-stack.js';
import { ClusterDouble, prometheusOperatorCrds } from './support/cluster-double.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import type { KubeObject } from './support/kube-api-server.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');
const KUBECTL = join(REPO, '.tools', 'bin', 'kubectl');

const until = async (what: string, check: () => boolean, ms = 60_000) => {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test("helm --wait installs the project's +sim chart into the cluster double: pods run the rendered commands as processes on their own addresses, Ready from their probes; KubeStack serves, scales and kills through it; what does not fit stays Pending; each Deployment's one ReplicaSet owns its ready pods, kubectl rollout status follows them, an upgrade rolls the router to a new ReplicaSet and kubectl rollout undo back to the old one", async (t) => {
  const chartDir = referenceChartDir();
  const why = (await kconfigMissing()) ?? (chartDir && existsSync(HELM) && existsSync(KUBECTL) ? null : 'the reference chart or .tools/bin/helm or kubectl is missing (make deps)');
  if (why || !chartDir) return t.skip(why ?? '');
  const p = await tempProject();
  const dir = await mkdtemp(join(tmpdir(), 'cluster-double-pods-'));
  // Probes at a tenth of the rendered timing (the router's readiness waits 30 s on a cluster).
  const cluster = await ClusterDouble.start({ probeTimeScale: 0.1 });
  t.after(async () => {
    await cluster.close();
    await Promise.all([p.remove(), rm(dir, { recursive: true, force: true })]);
  });
  const config = await configureProject(p, 'vllm+sim', { VLLM_REPLICA_COUNT: 2 });
  const loaded = config.nodes[0];
  assert.ok(loaded);
  const { values } = checkedValues(config.vars, loaded.node, { apiKey: false, hfToken: false }, await loadChart(chartDir));
  const names = nodeReleaseNames(config.vars, loaded.node);
  await writeFile(join(dir, 'values.yaml'), stringify(values));
  const access = { kubeconfig: await cluster.writeKubeconfig(join(dir, 'kubeconfig')), context: '' };
  // The configuration's monitoring renders ServiceMonitors: a cluster with kube-prometheus-stack has their CRDs.
  for (const crd of prometheusOperatorCrds()) cluster.api.put(crd);

  const install = await $({ quiet: true, nothrow: true })`${HELM} ${installArgs(names, chartDir, join(dir, 'values.yaml'), 120, access)}`;
  assert.equal(install.exitCode, 0, install.stderr);
  const pods = () => cluster.api.list('Pod', names.namespace).filter((x) => !x.metadata.deletionTimestamp);
  const engines = () => pods().filter((x) => x.metadata.name.startsWith(names.engineDeployment));
  const ip = (x: KubeObject | undefined) => (x?.status as { podIP?: string } | undefined)?.podIP ?? '';
  assert.equal(engines().length, 2);
  assert.ok(pods().every((x) => cluster.api.isReady(x)), 'helm --wait returned once every pod was Ready');
  const ips = pods().map(ip);
  assert.equal(new Set(ips).size, ips.length, 'each pod its own address');
  assert.ok(ips.every((a) => /^127\.(1\d\d)\.\d+\.\d+$/.test(a)) && new Set(ips.map((a) => a.split('.')[1])).size === 1, `pods on the double's own 127.<octet>.x.y: ${ips.join(' ')}`);
  // As a Deployment controller makes them: one ReplicaSet per Deployment, <deployment>-<hash>, owning its pods, all labelled with the hash.
  const replicaSets = (deployment: string) => cluster.api.list('ReplicaSet', names.namespace).filter((rs) => rs.metadata.ownerReferences?.some((r) => r.kind === 'Deployment' && r.name === deployment && r.controller));
  for (const deployment of [names.engineDeployment, names.routerDeployment]) {
    const [rs, ...more] = replicaSets(deployment);
    assert.ok(rs && more.length === 0, `${deployment}: one ReplicaSet`);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.equal(rs.metadata.name, `${deployment}-${hash}`);
    const owned = pods().filter((x) => x.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid));
    assert.equal(owned.length, (rs.spec as { replicas: number }).replicas, `${deployment}: its pods are the ReplicaSet's`);
    assert.ok(owned.every((x) => x.metadata.labels?.['pod-template-hash'] === hash && x.metadata.name.startsWith(`${rs.metadata.name}-`) && cluster.api.isReady(x)), `${deployment}: ready pods named and labelled by their ReplicaSet`);
  }
  const rolloutStatus = (deployment: string) => $({ quiet: true, nothrow: true })`${KUBECTL} --kubeconfig ${access.kubeconfig} --namespace ${names.namespace} rollout status deployment/${deployment} --timeout=60s`;
  const rolled = await rolloutStatus(names.engineDeployment);
  assert.equal(rolled.exitCode, 0, rolled.stderr);
  assert.match(rolled.stdout, /deployment "[^"]+" successfully rolled out/);

  // The engine answers on the pod's address at the rendered port 8000, with the rendered model.
  const models = (await (await fetch(`http://${ip(engines()[0])}:8000/v1/models`)).json()) as { data: { id: string }[] };
  assert.equal(models.data[0]?.id, config.vars.vllm_model_url);

  const stack = await KubeStack.attach({ kc: await loadKubeConfig(access), names, servedModelName: config.vars.vllm_model_url, routerEnabled: true, autoscaled: false, helm: HELM, access, waitTimeoutMs: 60_000 });
  t.after(() => stack.close());
  // Through the port-forward to the router pod, whose Kubernetes discovery found both engines in the double.
  const smoke = await quickTest(stack.routerUrl, config.vars.vllm_model_url);
  assert.ok(smoke.passed, JSON.stringify(smoke));
  await stack.scale(3);
  assert.equal((await stack.engines()).filter((e) => e.ready).length, 3);
  // A kill removes the pod and its process; the ReplicaSet's replacement comes up.
  const victim = engines()[0];
  assert.ok(victim);
  await stack.stopEngine(victim.metadata.name, 'kill');
  const dead = await fetch(`http://${ip(victim)}:8000/health`).then(() => 'answered', () => 'refused');
  assert.equal(dead, 'refused', 'the killed pod\'s process is gone');
  await until('3 ready engines after the kill', () => engines().filter((x) => cluster.api.isReady(x)).length === 3);

  // A fourth engine (1 CPU) does not fit beside three and the router (3.4 of 4 CPUs): Pending, FailedScheduling.
  const scale = (replicas: number) => fetch(`${cluster.url}/apis/apps/v1/namespaces/${names.namespace}/deployments/${names.engineDeployment}/scale`, {
    method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { replicas } }),
  });
  assert.equal((await scale(4)).status, 200);
  await until('a fourth engine pod', () => engines().length === 4);
  const pending = engines().find((x) => (x.status as { phase: string }).phase === 'Pending');
  assert.ok(pending, 'one engine Pending');
  const event = cluster.api.list('Event', names.namespace).find((e) => (e.involvedObject as { name: string }).name === pending.metadata.name);
  assert.equal(event?.reason, 'FailedScheduling');
  assert.match(String(event?.message), /0\/1 nodes are available: 1 Insufficient cpu/);
  assert.equal((await scale(3)).status, 200);
  await until('the Pending one removed first', () => engines().length === 3 && engines().every((x) => cluster.api.isReady(x)));

  // A changed pod template (an annotation) rolls the router to a new ReplicaSet; the old one is scaled to 0 once the new pod is available.
  const [oldRouter] = replicaSets(names.routerDeployment);
  await writeFile(join(dir, 'values.yaml'), stringify({ ...values, routerSpec: { ...(values.routerSpec as object), podAnnotations: { 'rolled-by': 'test' } } }));
  const upgrade = await $({ quiet: true, nothrow: true })`${HELM} ${installArgs(names, chartDir, join(dir, 'values.yaml'), 120, access)}`;
  assert.equal(upgrade.exitCode, 0, upgrade.stderr);
  const routerRolled = await rolloutStatus(names.routerDeployment);
  assert.equal(routerRolled.exitCode, 0, routerRolled.stderr);
  const routers = replicaSets(names.routerDeployment);
  const newRouter = routers.find((rs) => rs.metadata.uid !== oldRouter?.metadata.uid);
  assert.equal(routers.length, 2, 'the old ReplicaSet is kept, scaled to 0');
  assert.ok(newRouter && (newRouter.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? '') === '2');
  await until('the old router pod gone', () => pods().filter((x) => x.metadata.name.startsWith(names.routerDeployment)).every((x) => x.metadata.ownerReferences?.[0]?.uid === newRouter.metadata.uid));
  assert.equal((cluster.api.get('ReplicaSet', names.namespace, oldRouter?.metadata.name ?? '')?.spec as { replicas: number }).replicas, 0);
  // kubectl rollout undo sends the previous template back: its ReplicaSet (not a third one) is scaled up again, with the next revision.
  const undo = await $({ quiet: true, nothrow: true })`${KUBECTL} --kubeconfig ${access.kubeconfig} --namespace ${names.namespace} rollout undo deployment/${names.routerDeployment}`;
  assert.equal(undo.exitCode, 0, undo.stderr);
  const undone = await rolloutStatus(names.routerDeployment);
  assert.equal(undone.exitCode, 0, undone.stderr);
  const revived = cluster.api.get('ReplicaSet', names.namespace, oldRouter?.metadata.name ?? '');
  assert.equal(replicaSets(names.routerDeployment).length, 2, 'no third ReplicaSet');
  assert.deepEqual([(revived?.spec as { replicas: number }).replicas, revived?.metadata.annotations?.['deployment.kubernetes.io/revision']], [1, '3']);

  const uninstall = await $({ quiet: true, nothrow: true })`${HELM} ${uninstallArgs(names, access)}`;
  assert.equal(uninstall.exitCode, 0, uninstall.stderr);
  assert.deepEqual(cluster.api.list('ReplicaSet', names.namespace), [], 'the ReplicaSets went with their Deployments');
  await until('every pod gone', () => cluster.api.list('Pod', names.namespace).length === 0, 40_000);
  assert.equal(cluster.pods.processes(), 0, 'no pod process left');
});
