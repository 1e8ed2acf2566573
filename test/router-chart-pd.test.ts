// production-stack's own disaggregated-prefill configuration
// (tests/assets/values-10-disagg-prefill.yaml), rendered by the real helm
// and run as the chart would run it: the chart's prefill and decode engine
// Deployments as pods of the Kubernetes API test server, each running the
// image's `vllm serve` (the simulator) with the rendered command and LMCache
// NIXL environment (addresses adjusted to loopback: the pod IPs, and the
// decode Service's KV port 55555 as the decode pod's free port), and the
// router started with exactly the argument vector the chart renders. A
// completion through it is prefilled on the prefill pod and decoded on the
// decode pod with the KV pushed between them, from the engines' counters.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { startListening, type Listening } from './support/listening.js';
import { sharedFreePort, until } from './support/loopback.js';
import { referenceChartDir } from './support/reference.js';
import { REPO } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');
const NS = 'vllm';
const MODEL = 'facebook/opt-125m';
const IPS = { prefill: '127.0.0.70', decode: '127.0.0.71' };
const ROUTER = join(REPO, 'dist/router/src/main.js');

type Env = { name: string; value?: string }[];
type Container = { command?: string[]; args?: string[]; env?: Env };
type Deployment = KubeObject & { spec: { template: { spec: { containers: Container[] } } } };

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('values-10-disagg-prefill.yaml: the router takes the chart\'s disaggregated-prefill arguments and splits a request between the chart\'s prefill and decode pods', async (t) => {
  const chart = referenceChartDir();
  const valuesFile = chart ? join(dirname(chart), 'vllm-stack-0.1.12-test-values', 'values-10-disagg-prefill.yaml') : '';
  if (!chart || !existsSync(HELM) || !existsSync(valuesFile)) return t.skip('the reference chart, its test values or .tools/bin/helm is missing (make deps extracts helm; shared/reference holds the chart)');
  const dir = await mkdtemp(join(tmpdir(), 'chart-pd-'));
  const port = await sharedFreePort(Object.values(IPS));
  const kvPort = await sharedFreePort([IPS.decode]);
  // The engines' port is the test's, given as the chart allows: the router's extraArgs (its own list kept whole).
  const values = parse(await readFile(valuesFile, 'utf8')) as { routerSpec: { extraArgs: string[] } };
  const rendered = { ...values, routerSpec: { ...values.routerSpec, extraArgs: [...values.routerSpec.extraArgs, '--k8s-port', String(port)] } };
  const file = join(dir, 'values.yaml');
  await writeFile(file, stringify(rendered));
  const out = await $({ quiet: true })`${HELM} template vllm ${chart} --namespace ${NS} -f ${file}`;
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject).filter(Boolean);
  const deployment = (name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name) as Deployment;

  const engines = new Map<string, { url: string; proc: Listening }>();
  const api = await KubeApiServer.start({
    pods: {
      podIP: (pod) => (pod.metadata.name.includes('decode') ? IPS.decode : IPS.prefill),
      start: async (pod) => {
        const ip = (pod.status as { podIP: string }).podIP;
        const c = (pod.spec as { containers: Container[] }).containers[0] as Container;
        const args = (c.command ?? []).slice(1).map((a, i, all) => (all[i - 1] === '--host' ? ip : all[i - 1] === '--port' ? String(port) : a));
        // The chart's NIXL addresses, as cluster DNS and the decode Service would resolve them here.
        const env: Record<string, string> = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
        if (env.LMCACHE_NIXL_RECEIVER_PORT) env.LMCACHE_NIXL_RECEIVER_PORT = String(kvPort);
        if (env.LMCACHE_NIXL_ROLE === 'sender') env.LMCACHE_NIXL_RECEIVER_HOST = IPS.decode;
        const proc = await startListening([join(REPO, 'dist/engine-sim/src/vllm-main.js'), ...args, '--time-scale', '0.01', '--instance-id', pod.metadata.name], env);
        engines.set(pod.metadata.name.includes('decode') ? 'decode' : 'prefill', { url: `http://${ip}:${port}`, proc });
      },
    },
  });
  let router: Listening | null = null;
  t.after(async () => {
    await Promise.all([router, ...[...engines.values()].map((e) => e.proc)].map((p) => p?.stop()));
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const name of ['vllm-opt125m-prefill-deployment-vllm', 'vllm-opt125m-decode-deployment-vllm']) {
    const d = deployment(name);
    assert.ok(d, `${name} is rendered`);
    api.put(d);
  }
  await until('both engine pods ready', () => api.list('Pod', NS).filter((p) => api.isReady(p)).length === 2, 30_000);
  const prefill = engines.get('prefill');
  const decode = engines.get('decode');
  assert.ok(prefill && decode);
  assert.match(prefill.proc.output(), /kv-role=producer/, 'the chart\'s kv_producer / NIXL sender is the simulator\'s producer');
  assert.match(decode.proc.output(), new RegExp(`kv-role=consumer kv-port=${kvPort}`), 'the chart\'s kv_consumer / NIXL receiver listens for the KV');

  const args = deployment('vllm-deployment-router').spec.template.spec.containers[0]?.args ?? [];
  assert.equal(args[args.indexOf('--routing-logic') + 1], 'disaggregated_prefill');
  assert.equal(args[args.indexOf('--prefill-model-labels') + 1], 'opt125m-prefill');
  const kubeconfig = await api.writeKubeconfig(join(dir, 'kubeconfig'), NS);
  router = await startListening([ROUTER, ...args.map((a, i) => (args[i - 1] === '--host' ? '127.0.0.1' : args[i - 1] === '--port' ? '0' : a))], { KUBECONFIG: kubeconfig, HOME: dir, VLLM_API_KEY: '' });
  const url = `http://127.0.0.1:${router.port}`;
  await until('both pods in rotation, by their model labels', async () => {
    const body = await (await fetch(`${url}/engines`)).json() as { engines: { healthy: boolean; model_label: string }[] };
    return body.engines.filter((e) => e.healthy).map((e) => e.model_label).sort().join() === 'opt125m-decode,opt125m-prefill';
  }, 30_000);
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'Hello from the chart', max_tokens: 5, ignore_eos: true }) });
  const body = await res.json() as { usage: { completion_tokens: number } };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.usage.completion_tokens, 5);
  assert.equal(res.headers.get('x-router-prefill-engine'), prefill.url);
  assert.equal(res.headers.get('x-router-engine'), decode.url);
  assert.equal(await counter(prefill.url, 'engine_sim:pd_prefill_only_requests_total'), 1);
  assert.equal(await counter(decode.url, 'engine_sim:pd_decodes_with_transferred_kv_total'), 1, 'the KV was pushed to the decode pod');
  assert.equal(await counter(decode.url, 'engine_sim:pd_recomputed_requests_total'), 0);
});
