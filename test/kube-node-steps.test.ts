// vllm-node's steps on a Kubernetes node, through the same code as on the
// local target (the target contract): smoke, test, bench, snapshot and pack
// against the Kubernetes API test server, with the Deployments the real chart
// renders and real processes as their pods, each on its own loopback address.
// The run directory gets the same files as a local run's, the logs from the pods.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { parseAllDocuments, stringify } from 'yaml';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { templateArgs } from '../scripts/lib/helm/commands.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { assertValid } from '../scripts/lib/results/schemas.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { startListening } from './support/listening.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');
const RUN = '20260101-000000-c0de';

interface Proc { child: ChildProcess; ip: string; port: number }

const local = (cmd: string[], ip: string) => cmd.map((a, i, all) => (all[i - 1] === '--host' ? ip : all[i - 1] === '--port' ? '0' : a));

test('vllm-node check, smoke, test, bench, snapshot, status and pack on a Kubernetes node: the same steps as locally reach the stack handle and write a local run\'s files, logs from the pods', { timeout: 180_000 }, async (t) => {
  const chartDir = referenceChartDir();
  const why = (await kconfigMissing()) ?? (chartDir && existsSync(HELM) ? null : 'the reference chart or .tools/bin/helm is missing (make deps)');
  if (why || !chartDir) return t.skip(why ?? '');
  const p = await tempProject();
  const dir = await mkdtemp(join(tmpdir(), 'kube-node-steps-'));
  t.after(() => Promise.all([p.remove(), rm(dir, { recursive: true, force: true })]));
  const config = await configureProject(p, 'vllm+sim', {
    VLLM_REPLICA_COUNT: 2, VLLM_BENCHMARK_DURATION: 2, VLLM_BENCHMARK_WARMUP_REQUESTS: 2,
    VLLM_TEST_API: true, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false,
  });
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
  let nextIp = 40;
  const server = await KubeApiServer.start({
    anonymous: true,
    pods: {
      podIP: () => `127.0.0.${nextIp++}`,
      start: async (pod) => {
        const ip = (pod.status as { podIP: string }).podIP;
        const container = (pod.spec as { containers: { command?: string[] }[] }).containers[0];
        const started = pod.metadata.labels?.environment === 'engine'
          ? await startListening([join(REPO, 'dist', 'engine-sim', 'src', 'vllm-main.js'), ...local(container?.command ?? [], ip).slice(1), '--time-scale', '0'], { POD_IP: ip })
          : await (() => {
            const backends = [...procs.values()].map((e) => `http://${e.ip}:${e.port}`);
            return startListening([join(REPO, 'dist', 'router', 'src', 'main.js'), '--host', ip, '--port', '0', '--service-discovery', 'static',
              '--static-backends', backends.join(','), '--static-models', backends.map(() => config.vars.vllm_model_url).join(',')]);
          })();
        procs.set(pod.metadata.name, { ...started, ip });
        server.setPodLog(names.namespace, pod.metadata.name, `${pod.metadata.name} serving on ${ip}:${started.port}\n`);
      },
      stop: async (pod, graceful) => {
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
  const kubeconfig = await server.writeKubeconfig(join(dir, 'kubeconfig'));
  const node = (...args: string[]) => $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, VLLM_KUBECONFIG: kubeconfig, VLLM_K8S_CONTEXT: 'test', VLLM_PROD_STACK_CHART_PATH: chartDir } })`node ${join(REPO, 'dist/scripts/vllm-node.js')} ${args} --node vllm-baseline`;

  // Before anything is deployed: said as on the local target.
  const none = await node('bench', '--run-id', RUN);
  assert.equal(none.exitCode, 1, none.stdout);
  assert.match(none.stderr, /node vllm-baseline has nothing deployed; run make vllm first/);

  // Bring-up checks the release as rendered: no CRD serves the chart's ServiceMonitors yet, and no node has room for its pods.
  const check = await node('check');
  assert.equal(check.exitCode, 1, check.stdout);
  assert.match(check.stderr, /release vllm-baseline cannot run on this cluster as configured:\n.*❌ the cluster does not serve PrometheusRule/);
  assert.match(check.stderr, /❌ the cluster does not serve ServiceMonitor \(monitoring\.coreos\.com\/v1\), which the release renders \(vllm-baseline-engine-servicemonitor, vllm-baseline-router-servicemonitor\)/);
  assert.match(check.stderr, /❌ Deployment vllm-baseline-deployment-router cannot be scheduled: the cluster has no schedulable node/);
  assert.doesNotMatch(check.stderr, /images/, 'with no node, no node can hold them either: said once, as no node');
  server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'small' }, status: { allocatable: { cpu: '1500m', memory: '4Gi' } } });
  const small = await node('check');
  assert.match(small.stderr, /❌ Deployment vllm-baseline-opt-125m-deployment-vllm \(pod 2 of 2\) cannot be scheduled: 1 CPU requested, at most 500m CPU free on a node \(Insufficient resources: it would stay Pending\)\. Lower CONFIG_VLLM_REQUEST_CPU/);
  assert.doesNotMatch(small.stderr, /deployment-router cannot/, 'the router fits beside the first engine');
  // minikube (vllm+sim): the router and simulator images must have been loaded into its node.
  assert.match(small.stderr, /❌ this project's images ghcr\.io\/vllm-stack-harness\/router:0\.1\.0 \(vllm-baseline router\), .* are not in minikube and published nowhere.*run make vllm-images/);

  server.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: names.namespace } });
  const ready = (prefix: string) => server.list('Pod', names.namespace).filter((x) => x.metadata.name.startsWith(prefix) && server.isReady(x)).length;
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; !check(); i++) {
      if (i > 600) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // The router's pod is given the engines as they are at its start: they come first.
  server.put(deployment(names.engineDeployment));
  await until('2 engines', () => ready(names.engineDeployment) === 2);
  server.put(deployment(names.routerDeployment));
  await until('the router', () => ready(names.routerDeployment) === 1);
  // The router's Service as rendered (ClusterIP): KubeStack reads from it how to reach the router.
  server.put(docs.find((d) => d.kind === 'Service' && d.metadata.name === names.routerService) as KubeObject);

  for (const step of ['smoke', 'test', 'bench', 'snapshot', 'pack']) {
    const out = await node(step, '--run-id', RUN);
    assert.equal(out.exitCode, 0, `${step}: ${out.stdout}${out.stderr}`);
    if (step === 'bench') assert.match(out.stdout, /multi_round_qa/);
  }
  // status through the same contract: the release's Deployments, read from the cluster.
  const status = await node('status', '--json');
  assert.equal(status.exitCode, 0, status.stderr);
  const live = JSON.parse(status.stdout) as { release: string; deployments: { name: string; ready: number; wanted: number }[] };
  assert.equal(live.release, names.release);
  assert.deepEqual(live.deployments.map((d) => [d.name, d.ready, d.wanted]), [[names.routerDeployment, 1, 1], [names.engineDeployment, 2, 2]]);
  const runDir = join(loaded.node.workDir, 'runs', RUN);
  // What the controller gets: the tarball (the run's log-start note stays on the node).
  const tarball = join(loaded.node.workDir, 'runs', `${RUN}.tar.gz`);
  const got = (await $({ quiet: true })`tar -tzf ${tarball}`).stdout.split('\n').filter((f) => f && !f.endsWith('/')).map((f) => f.replace(/^\.\//, '')).sort();
  const pods = server.list('Pod', names.namespace).map((x) => `logs/${x.metadata.name}.log`);
  assert.deepEqual(got, [
    'bench/multi_round_qa.json', 'bench/multi_round_qa.samples.jsonl', ...pods, 'metrics.json', 'smoke.json',
    'steps/benchmark.json', 'steps/metrics.json', 'steps/smoke.json', 'steps/test.json', 'suites/api.json',
  ].sort(), 'the files of a local run, the logs from the pods');
  const bench = JSON.parse(await readFile(join(runDir, 'bench', 'multi_round_qa.json'), 'utf8'));
  assertValid('bench-result', bench, 'multi_round_qa.json');
  assert.ok(bench.completed > 0 && bench.failed === 0, JSON.stringify(bench));
  assert.equal(bench.engines.length, 2, 'the engines measured are the pods, through their forwards');
  const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.pages.filter((x: { error: string | null }) => x.error === null).length, 3, 'two engines and the router');
  for (const step of ['smoke', 'test', 'benchmark', 'metrics']) assert.equal(JSON.parse(await readFile(join(runDir, 'steps', `${step}.json`), 'utf8')).passed, true, step);
  assert.match(await readFile(join(runDir, 'logs', `${server.list('Pod', names.namespace)[0]?.metadata.name}.log`), 'utf8'), /serving on 127\.0\.0\.\d+/);
});
