// The router as the production-stack chart's router: the real chart
// (shared/reference/vllm-stack-0.1.12), rendered by the real helm for every
// routing logic it offers and every router option it turns into an argument,
// and the router started with exactly the rendered argument vector (its host
// and port adjusted; the engines' port given through the chart's own
// routerSpec.extraArgs, since the test's engines cannot own port 8000). Its
// kubeconfig points at the Kubernetes API test server, where the chart's own
// engine Deployment runs engine simulator processes (the image's `vllm serve`)
// as pods. What it implements serves; what it does not exits with the reason.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { parseAllDocuments, stringify } from 'yaml';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { runToExit, startListening, type Listening } from './support/listening.js';
import { sharedFreePort, until } from './support/loopback.js';
import { referenceChartDir } from './support/reference.js';
import { REPO } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');
const NS = 'vllm';
const MODEL = 'facebook/opt-125m';
const POD_IPS = ['127.0.0.60', '127.0.0.61'];
const ROUTER = join(REPO, 'dist/router/src/main.js');

type Container = { command?: string[]; args?: string[] };
type Deployment = KubeObject & { spec: { template: { spec: { containers: Container[] } } } };

interface Variant {
  name: string;
  routerSpec: Record<string, unknown>;
  /** null: the router must refuse it, with this reason in its error. */
  refused?: RegExp;
}

/** Every routing logic the chart's values schema offers, and every router value that renders an argument. */
function variants(port: number, staticBackends: string): Variant[] {
  const k8sPort = { extraArgs: ['--k8s-port', String(port)] };
  return [
    { name: 'roundrobin (the chart\'s defaults)', routerSpec: { ...k8sPort } },
    { name: 'session', routerSpec: { ...k8sPort, routingLogic: 'session', sessionKey: 'x-user-id' } },
    { name: 'prefixaware with a root path', routerSpec: { ...k8sPort, routingLogic: 'prefixaware', prefixMinMatchLength: 64, rootPath: '/vllm', engineScrapeInterval: 5, requestStatsWindow: 30 } },
    { name: 'kvaware with the LMCache controller ports', routerSpec: { ...k8sPort, routingLogic: 'kvaware', lmcacheControllerPort: 9000, lmcacheControllerReplyPort: 9001, lmcacheControllerHeartbeatPort: 9002 } },
    { name: 'service-name discovery', routerSpec: { ...k8sPort, k8sServiceDiscoveryType: 'service-name' } },
    { name: 'static discovery', routerSpec: { serviceDiscovery: 'static', staticBackends, staticModels: POD_IPS.map(() => MODEL).join(',') } },
    // Without the two pools' labels (routerSpec.extraArgs) there is nothing to split between; test/router-chart-pd.test.ts runs them with labels.
    { name: 'disaggregated_prefill', routerSpec: { ...k8sPort, routingLogic: 'disaggregated_prefill' }, refused: /--routing-logic disaggregated_prefill needs --prefill-model-labels and --decode-model-labels/ },
    { name: 'disaggregated_prefill_orchestrated', routerSpec: { ...k8sPort, routingLogic: 'disaggregated_prefill_orchestrated' }, refused: /--routing-logic disaggregated_prefill_orchestrated needs --prefill-model-labels/ },
    { name: 'OpenTelemetry', routerSpec: { ...k8sPort, otel: { endpoint: 'http://otel-collector:4317', serviceName: 'router', secure: true } }, refused: /--otel-endpoint http:\/\/otel-collector:4317 is not supported by this router, because there is no OpenTelemetry tracing/ },
  ];
}

function values(routerSpec: Record<string, unknown>): Record<string, unknown> {
  return {
    servingEngineSpec: {
      modelSpec: [{ name: 'opt', repository: 'ghcr.io/vllm-stack-harness/engine-sim', tag: '0.1.0', modelURL: MODEL, replicaCount: POD_IPS.length, requestCPU: 1, requestMemory: '1Gi', requestGPU: 0 }],
    },
    routerSpec: { repository: 'ghcr.io/vllm-stack-harness/router', tag: '0.1.0', ...routerSpec },
  };
}

async function render(dir: string, chart: string, name: string, v: Record<string, unknown>): Promise<KubeObject[]> {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  await writeFile(file, stringify(v));
  const out = await $({ quiet: true })`${HELM} template test ${chart} --namespace ${NS} -f ${file}`;
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject).filter(Boolean);
}

const find = (docs: KubeObject[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name) as KubeObject;
/** The rendered vector with the router's own address adjusted: this machine's loopback, any free port. */
const adjusted = (args: string[]) => args.map((a, i) => (args[i - 1] === '--host' ? '127.0.0.1' : args[i - 1] === '--port' ? '0' : a));

test('the chart\'s router argument vectors, for every routing logic and router option: what the router implements serves, the rest exits with the reason', async (t) => {
  const chart = referenceChartDir();
  if (!chart || !existsSync(HELM)) return t.skip('the reference chart or .tools/bin/helm is missing (make deps extracts helm; shared/reference holds the chart)');
  const dir = await mkdtemp(join(tmpdir(), 'chart-dropin-'));
  const port = await sharedFreePort(POD_IPS);
  const engines = new Map<string, Listening>();
  let nextIp = 0;
  const api = await KubeApiServer.start({
    pods: {
      podIP: () => POD_IPS[nextIp++] ?? '127.0.0.99',
      // Each engine pod runs the chart's own command (vllm serve ...) with its address adjusted.
      start: async (pod) => {
        const ip = (pod.status as { podIP: string }).podIP;
        const command = (pod.spec as { containers: Container[] }).containers[0]?.command ?? [];
        assert.deepEqual(command.slice(0, 3), ['vllm', 'serve', MODEL]);
        const args = command.slice(1).map((a, i, all) => (all[i - 1] === '--host' ? ip : all[i - 1] === '--port' ? String(port) : a));
        engines.set(pod.metadata.name, await startListening([join(REPO, 'dist/engine-sim/src/vllm-main.js'), ...args, '--time-scale', '0', '--instance-id', pod.metadata.name]));
      },
    },
  });
  const routers: Listening[] = [];
  t.after(async () => {
    await Promise.all([...routers, ...engines.values()].map((p) => p.stop()));
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'), NS);
  const env = { KUBECONFIG: kubeconfig, HOME: dir, VLLM_API_KEY: '' };

  const cases = variants(port, POD_IPS.map((ip) => `http://${ip}:${port}`).join(','));
  const rendered = await Promise.all(cases.map((c) => render(dir, chart, c.name, values(c.routerSpec))));
  // The engines: the chart's engine Deployment, its Service's Endpoints (as Kubernetes would make them) for service-name discovery.
  const first = rendered[0] as KubeObject[];
  api.put(find(first, 'Deployment', 'test-opt-deployment-vllm'));
  const service = find(first, 'Service', 'test-opt-engine-service');
  api.put({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service.metadata.name, namespace: NS, labels: service.metadata.labels ?? {} }, subsets: [{ addresses: POD_IPS.map((ip) => ({ ip })) }] });
  await until('both engine pods ready', () => api.list('Pod', NS).filter((p) => api.isReady(p)).length === POD_IPS.length, 30_000);
  const podNames = api.list('Pod', NS).map((p) => p.metadata.name).sort();

  // One router at a time: each loads the Kubernetes client (about a second of CPU), and a 2-core machine shares them badly.
  for (const [i, c] of cases.entries()) {
    const args = (find(rendered[i] as KubeObject[], 'Deployment', 'test-deployment-router') as Deployment).spec.template.spec.containers[0]?.args ?? [];
    assert.equal(args[0], '--host', `${c.name}: the chart renders args only; the image's entry point is the router`);
    if (c.refused) {
      const out = await runToExit([ROUTER, ...adjusted(args)], env);
      assert.equal(out.code, 2, `${c.name}: exit code 2 (a flag it cannot honour)\n${out.output}`);
      assert.match(out.output, c.refused, c.name);
      continue;
    }
    const router = await startListening([ROUTER, ...adjusted(args)], env);
    routers.push(router);
    const url = `http://127.0.0.1:${router.port}`;
    const root = c.routerSpec.rootPath === undefined ? '' : String(c.routerSpec.rootPath);
    const health = await fetch(`${url}${root}/health`);
    assert.equal(health.status, 200, `${c.name}: /health`);
    if (c.routerSpec.k8sServiceDiscoveryType === 'service-name') {
      // The Service is found; its cluster DNS name does not resolve outside a cluster, so its models cannot be read here.
      await until(`${c.name}: the engine Service seen`, async () => {
        const body = await (await fetch(`${url}/engines`)).json() as { discovery?: { type: string; engines: { name: string; condition: string }[] } };
        return body.discovery?.type === 'service-name' && body.discovery.engines.some((e) => e.name === 'test-opt-engine-service' && e.condition === 'ready');
      }, 30_000);
      await until(`${c.name}: the models request tried`, () => router.output().includes(`GET http://test-opt-engine-service:${port}/v1/models failed`), 30_000);
      await router.stop();
      continue;
    }
    await until(`${c.name}: both engines in rotation`, async () => {
      const body = await (await fetch(`${url}/engines`)).json() as { engines: { healthy: boolean; pod: { name: string } | null }[] };
      return body.engines.filter((e) => e.healthy).length === POD_IPS.length;
    }, 30_000);
    const ask = (headers: Record<string, string> = {}) => fetch(`${url}${root}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: MODEL, prompt: 'Hello', max_tokens: 2 }),
    });
    const a = await ask({ 'x-user-id': 'alice' });
    assert.equal(a.status, 200, `${c.name}: a completion through the router`);
    assert.ok(POD_IPS.some((ip) => a.headers.get('x-router-engine') === `http://${ip}:${port}`), `${c.name}: answered by a discovered engine`);
    const b = await ask({ 'x-user-id': 'alice' });
    if (c.routerSpec.routingLogic === 'session') assert.equal(b.headers.get('x-router-engine'), a.headers.get('x-router-engine'), 'session: the same user sticks to its engine');
    if (c.routerSpec.serviceDiscovery !== 'static') {
      const body = await (await fetch(`${url}/engines`)).json() as { engines: { pod: { name: string } | null }[] };
      assert.deepEqual(body.engines.map((e) => e.pod?.name).sort(), podNames, `${c.name}: the pods, by name`);
    }
    await router.stop();
  }
  assert.equal(routers.length, cases.filter((c) => !c.refused).length, 'every accepted vector started a serving router');
});
