// KubeStack against the Kubernetes API test server, with the Deployments the
// real chart renders for the simulator and real processes as their pods
// (each on its own loopback address): the suites' handle works unchanged.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { parseAllDocuments, stringify } from 'yaml';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { templateArgs } from '../scripts/lib/helm/commands.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { loadKubeConfig } from '../scripts/lib/targets/kube/access.js';
import { quickTest } from '../scripts/lib/smoke/quick-test.js';
import { KubeStack } from '../scripts/lib/targets/kube/kube-stack.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { startListening } from './support/listening.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');

interface Proc { child: ChildProcess; ip: string; port: number }

const local = (cmd: string[], ip: string) => cmd.map((a, i, all) => (all[i - 1] === '--host' ? ip : all[i - 1] === '--port' ? '0' : a));

test('KubeStack: router and engines through managed port-forwards, scale through the scale subresource, graceful and killed pods, teardown', async (t) => {
  const chartDir = referenceChartDir();
  const why = (await kconfigMissing()) ?? (chartDir && existsSync(HELM) ? null : 'the reference chart or .tools/bin/helm is missing (make deps)');
  if (why || !chartDir) return t.skip(why ?? '');
  const p = await tempProject();
  const dir = await mkdtemp(join(tmpdir(), 'kube-stack-'));
  t.after(() => Promise.all([p.remove(), rm(dir, { recursive: true, force: true })]));
  const config = await configureProject(p, 'vllm+sim', { VLLM_REPLICA_COUNT: 2 });
  const loaded = config.nodes[0];
  assert.ok(loaded);
  const { values } = checkedValues(config.vars, loaded.node, { apiKey: false, hfToken: false }, await loadChart(chartDir));
  const names = nodeReleaseNames(config.vars, loaded.node);
  await writeFile(join(dir, 'values.yaml'), stringify(values));
  const rendered = await $({ quiet: true })`${HELM} ${templateArgs(names, chartDir, join(dir, 'values.yaml'))}`;
  const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubeObject).filter(Boolean);
  const deployment = (name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name) as KubeObject;

  // The pods: engines run the chart's own command line; the router gets the engines ready at its start.
  const procs = new Map<string, Proc>();
  let nextIp = 20;
  let holdGraceful: Promise<void> | null = null;
  const server = await KubeApiServer.start({
    anonymous: true,
    pods: {
      podIP: () => `127.0.0.${nextIp++}`,
      start: async (pod) => {
        const ip = (pod.status as { podIP: string }).podIP;
        const container = (pod.spec as { containers: { command?: string[]; args?: string[] }[] }).containers[0];
        if (pod.metadata.labels?.environment === 'engine') {
          const cmd = local(container?.command ?? [], ip);
          const started = await startListening([join(REPO, 'dist', 'engine-sim', 'src', 'vllm-main.js'), ...cmd.slice(1), '--time-scale', '0'], { POD_IP: ip });
          procs.set(pod.metadata.name, { ...started, ip });
        } else {
          const backends = [...procs.values()].map((e) => `http://${e.ip}:${e.port}`);
          const started = await startListening([join(REPO, 'dist', 'router', 'src', 'main.js'), '--host', ip, '--port', '0', '--service-discovery', 'static',
            '--static-backends', backends.join(','), '--static-models', backends.map(() => config.vars.vllm_model_url).join(',')]);
          procs.set(pod.metadata.name, { ...started, ip });
        }
      },
      stop: async (pod, graceful) => {
        if (graceful && holdGraceful) await holdGraceful;
        const proc = procs.get(pod.metadata.name);
        procs.delete(pod.metadata.name);
        if (proc && proc.child.exitCode === null) {
          proc.child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
          await once(proc.child, 'exit');
        }
      },
    },
    forwardTarget: (_ns, pod) => {
      const proc = procs.get(pod);
      return proc ? { host: proc.ip, port: proc.port } : null;
    },
  });
  t.after(async () => {
    await server.close();
    for (const proc of procs.values()) proc.child.kill('SIGKILL');
  });
  const ready = (prefix: string) => server.list('Pod', names.namespace).filter((x) => x.metadata.name.startsWith(prefix) && server.isReady(x) && !x.metadata.deletionTimestamp).length;
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; !check(); i++) {
      if (i > 600) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  server.put(deployment(names.engineDeployment));
  await until('2 engines', () => ready(names.engineDeployment) === 2);
  server.put(deployment(names.routerDeployment));
  // The router's Service as rendered (ClusterIP): KubeStack reads how to reach the router from it.
  server.put(docs.find((d) => d.kind === 'Service' && d.metadata.name === names.routerService) as KubeObject);
  await until('the router', () => ready(names.routerDeployment) === 1);
  server.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: names.secrets, namespace: names.namespace }, data: {} });

  const kubeconfig = await server.writeKubeconfig(join(dir, 'kubeconfig'));
  const access = { kubeconfig, context: 'test' };
  const stack = await KubeStack.attach({ kc: await loadKubeConfig(access), names, servedModelName: config.vars.vllm_model_url, routerEnabled: true, autoscaled: false, helm: HELM, access, waitTimeoutMs: 30_000 });
  t.after(() => stack.close());

  // The router answers through its forward, and serves a completion and a stream.
  assert.match(stack.routerUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const smoke = await quickTest(stack.routerUrl, config.vars.vllm_model_url);
  assert.ok(smoke.passed, JSON.stringify(smoke));
  // Engines come from the pods; each one's own metrics are reachable.
  let engines = await stack.engines();
  assert.equal(engines.length, 2);
  assert.ok(engines.every((e) => e.ready && e.running && e.models[0] === config.vars.vllm_model_url));
  const metrics = await (await fetch(engines[0]?.metricsUrl ?? '')).text();
  assert.match(metrics, /vllm:num_requests_running/);
  // Scale through the subresource; the call returns when the replicas are ready.
  await stack.scale(3);
  assert.equal((await stack.engines()).filter((e) => e.ready).length, 3);
  assert.equal(server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/scale')).length, 1);
  // A graceful stop: the pod turns terminating (not ready) before it goes; the Deployment replaces it.
  let release: () => void = () => undefined;
  holdGraceful = new Promise((r) => { release = r; });
  const victim = engines[0]?.id ?? '';
  await stack.stopEngine(victim, 'graceful');
  engines = await stack.engines();
  assert.deepEqual(engines.filter((e) => e.id === victim).map((e) => [e.ready, e.running]), [[false, false]], 'terminating: neither ready nor running');
  release();
  holdGraceful = null;
  await stack.startEngine(victim);
  engines = await stack.engines();
  assert.equal(engines.length, 3);
  assert.ok(!engines.some((e) => e.id === victim));
  // A kill: the pod is gone at once, its process SIGKILLed; the replacement comes up.
  const killed = engines[1]?.id ?? '';
  const killedProc = procs.get(killed);
  await stack.stopEngine(killed, 'kill');
  assert.equal(server.get('Pod', names.namespace, killed), undefined);
  await stack.startEngine(killed);
  assert.equal(killedProc?.child.signalCode, 'SIGKILL');
  assert.equal((await stack.engines()).filter((e) => e.ready).length, 3);
  await assert.rejects(stack.stopEngine('no-such-pod', 'kill'), /has no engine pod no-such-pod; its engines are: /);
  // With KEDA owning the replicas, scale() says so instead of fighting it.
  const keda = await KubeStack.attach({ kc: await loadKubeConfig(access), names, servedModelName: config.vars.vllm_model_url, routerEnabled: false, autoscaled: true, helm: HELM, access });
  await assert.rejects(keda.scale(1), /belong to KEDA \(ScaledObject vllm-baseline-opt-125m-scaledobject\)/);
  await keda.close();
  // Teardown: helm uninstall (real helm against the test server), the harness's Secret removed, forwards closed.
  const routerUrl = stack.routerUrl;
  await stack.teardown();
  assert.equal(server.get('Secret', names.namespace, names.secrets), undefined);
  assert.ok(server.requests.some((r) => r.path === `/api/v1/namespaces/${names.namespace}/secrets` && r.query.labelSelector === `name=${names.release},owner=helm`), 'helm looked the release up');
  await assert.rejects(fetch(`${routerUrl}/health`), 'the router forward is closed');
});
