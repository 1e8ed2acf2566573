// The production-stack chart (shared/reference/vllm-stack-0.1.12), rendered by
// the real helm from the values every Kubernetes defconfig and fragment gives:
// the values pass the chart's schema and known keys, every rendered object
// validates against the Kubernetes API schemas, and every option is visible
// where the cluster would act on it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { $ } from 'zx';
import { parseAllDocuments, stringify } from 'yaml';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { observabilityValues } from '../scripts/lib/helm/observability-input.js';
import { installArgs, templateArgs } from '../scripts/lib/helm/commands.js';
import { deployTimeoutSeconds } from '../scripts/lib/helm/render.js';
import { clusterAccess } from '../scripts/lib/targets/kube/access.js';
import { minikubeAddonArgs, minikubeStartArgs } from '../scripts/lib/targets/kube/minikube.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { OPAQUE_KEYS, TEMPLATE_ONLY_KEYS, validateValues } from '../scripts/lib/helm/validate-values.js';
import { helmValues, nodeReleaseNames, type HelmConfigVars, type Values } from '../scripts/lib/helm/values.js';
import { offloadBlocks } from '../scripts/lib/config/node-plan.js';
import type { LoadedNode } from '../scripts/lib/stack/load-node.js';
import { translateVllmArgs } from '../engine-sim/src/vllm-cli.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { validateObject, type KubeDoc } from './support/kube-models.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const CHART_DIR = referenceChartDir() ?? '(shared/reference/vllm-stack-0.1.12 not found beside the project)';
const HELM = join(REPO, '.tools', 'bin', 'helm');

/** Every Kubernetes defconfig, and each fragment that applies to one (edits: what no fragment sets). */
const CASES: { spec: string; edit?: Record<string, string> }[] = [
  ...['vllm', 'vllm+ab', 'vllm+gpu', 'vllm+lmcache', 'vllm+ab-router', 'vllm+sim', 'vllm+sim+autoscaling', 'vllm+sim+lmcache',
    'vllm-production-stack-cpu', 'vllm-production-stack-cpu+gpu', 'vllm-production-stack-cpu+autoscaling', 'vllm-production-stack-gpu',
    'vllm-production-stack-gpu+autoscaling', 'vllm-existing-cluster', 'vllm-existing-cluster+ab-router', 'vllm-production-stack-cpu+sim+ab', 'vllm+ab-lmcache', 'vllm+sim+ab-lmcache', 'vllm+sim+lora'].map((spec) => ({ spec })),
  { spec: 'vllm-production-stack-gpu+ab', edit: { VLLM_DEV_ENGINE_IMAGE_TAG: 'v0.11.1', VLLM_DEV_EXTRA_ENGINE_ARGS: '--max-num-batched-tokens 4096', VLLM_MODEL_NAME: 'opt' } },
];

async function missing(): Promise<string | null> {
  if (!existsSync(join(CHART_DIR, 'Chart.yaml'))) return `the reference chart is not at ${CHART_DIR}`;
  if (!existsSync(HELM)) return `${HELM} is missing: make deps extracts it`;
  return kconfigMissing();
}

type Container = { name: string; image: string; command?: string[]; args?: string[]; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } };
type PodSpec = { containers: Container[] };
type Deployment = KubeDoc & { spec: { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

function flag(argv: string[], name: string): string | undefined {
  const i = argv.lastIndexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

function find<T extends KubeDoc>(docs: KubeDoc[], kind: string, name: string): T {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(found, `${kind} ${name} is rendered (have: ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')})`);
  return found as T;
}

/** Starts the rendered engine command (host and port made local), checks what it serves, stops it. */
async function serveOnce(name: string, cmd: string[]): Promise<void> {
  const argv = cmd.slice(1).map((a, i, all) => (all[i - 1] === '--host' ? '127.0.0.1' : all[i - 1] === '--port' ? '0' : a));
  const child = spawn(process.execPath, [join(REPO, 'dist', 'engine-sim', 'src', 'vllm-main.js'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_IP: '10.1.2.3' } });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`${name}: vllm entry point exited ${code}: ${out}`)));
    });
    if (cmd.includes('--kv-transfer-config')) assert.match(out, /accepted without effect: .*--kv-transfer-config/, `${name}: LMCache's connector flag is reported, not silently dropped`);
    else assert.doesNotMatch(out, /accepted without effect/);
    assert.match(out, /instance=sim-10\.1\.2\.3/);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string; max_model_len: number }[] };
    assert.equal(models.data[0]?.max_model_len, Number(flag(cmd, '--max-model-len')), name);
    assert.equal(models.data[0]?.id, cmd[2]);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

/** Every option of the node, where the cluster would see it. */
function assertOptionsReach(v: HelmConfigVars, loaded: LoadedNode, values: Values, docs: KubeDoc[], secrets: { apiKey: boolean; hfToken: boolean }): void {
  const { node } = loaded;
  const names = nodeReleaseNames(v, node);
  const engine = find<Deployment>(docs, 'Deployment', names.engineDeployment);
  const c = engine.spec.template.spec.containers.find((x) => x.name === 'vllm') as Container;
  const cmd = c.command ?? [];
  assert.deepEqual(cmd.slice(0, 7), ['vllm', 'serve', v.vllm_model_url, '--host', '0.0.0.0', '--port', '8000']);
  assert.equal(c.image, `${v.vllm_engine_image_repo}:${node.engineImageTag || v.vllm_engine_image_tag}`);
  assert.equal(flag(cmd, '--max-model-len'), String(v.vllm_max_model_len));
  assert.equal(flag(cmd, '--max-num-seqs'), String(v.vllm_max_num_seqs));
  assert.ok(cmd.includes(v.vllm_enable_prefix_caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching'));
  if (v.vllm_engine === 'vllm') {
    assert.equal(flag(cmd, '--dtype'), v.vllm_dtype);
    assert.equal(flag(cmd, '--tensor-parallel-size'), String(v.vllm_tensor_parallel_size));
    assert.ok(cmd.includes(v.vllm_enable_chunked_prefill ? '--enable-chunked-prefill' : '--no-enable-chunked-prefill'));
    if (v.vllm_use_cpu_inference) {
      assert.equal(flag(cmd, '--gpu_memory_utilization'), undefined);
      assert.ok(c.env?.some((e) => e.name === 'VLLM_CPU_KVCACHE_SPACE'), 'the CPU backend gets its KV cache size');
    } else {
      assert.equal(Number(flag(cmd, '--gpu_memory_utilization')), (v.vllm_gpu_memory_utilization ?? 0) / 100);
    }
  } else {
    assert.equal(flag(cmd, '--kv-blocks'), String(v.vllm_sim_kv_blocks));
    assert.equal(flag(cmd, '--block-size'), String(v.vllm_sim_block_size));
    assert.equal(flag(cmd, '--seed'), String(v.vllm_sim_seed));
    assert.equal(flag(cmd, '--inter-token-latency'), String((v.vllm_sim_inter_token_latency_us ?? 0) / 1000));
    assert.equal(flag(cmd, '--offload-blocks'), node.lmcacheEnabled ? String(offloadBlocks(v.vllm_lmcache_cpu_buffer_size ?? 0, v.vllm_sim_block_size ?? 16)) : undefined);
  }
  const env = new Map((c.env ?? []).map((e) => [e.name, e]));
  if (node.lmcacheEnabled) {
    assert.ok(cmd.includes('--kv-transfer-config'));
    assert.equal(env.get('LMCACHE_LOCAL_CPU')?.value, 'True');
    assert.equal(env.get('LMCACHE_MAX_LOCAL_CPU_SIZE')?.value, String(v.vllm_lmcache_cpu_buffer_size));
  } else {
    assert.ok(!cmd.includes('--kv-transfer-config') && !env.has('LMCACHE_LOCAL_CPU'), 'no LMCache without it');
  }
  // LoRA: the engine flags, the runtime routes for the chart's controller, one LoraAdapter per adapter.
  const adapters = docs.filter((d) => d.kind === 'LoraAdapter') as (KubeDoc & { spec: { baseModel: string; adapterSource: { adapterName: string }; loraAdapterDeploymentConfig: { replicas: number } } })[];
  if (v.vllm_lora_enabled) {
    assert.ok(cmd.includes('--enable-lora'));
    assert.equal(flag(cmd, '--max_loras'), String(v.vllm_lora_max_loras));
    assert.equal(env.get('VLLM_ALLOW_RUNTIME_LORA_UPDATING')?.value, 'True');
    const want = (v.vllm_lora_adapters ?? '').trim().split(/\s+/).map((a) => a.split('=')[0]);
    assert.deepEqual(adapters.map((a) => a.spec.adapterSource.adapterName), want);
    assert.ok(adapters.every((a) => a.metadata.name.startsWith(`${names.release}-`) && a.spec.loraAdapterDeploymentConfig.replicas >= 1));
    // The controller places an adapter on the pods whose `model` label is its baseModel: the engine pods' own.
    const podModel = engine.spec.template.metadata.labels.model;
    assert.deepEqual([...new Set(adapters.map((a) => a.spec.baseModel))], [podModel], 'baseModel is the engine pods\' model label');
    assert.ok(docs.some((d) => d.kind === 'Deployment' && d.metadata.name === `${names.release}-lora-controller`), 'the LoRA controller places them');
  } else {
    assert.ok(!cmd.includes('--enable-lora') && adapters.length === 0, 'no LoRA without it');
  }
  // Resources, GPUs and their runtime.
  assert.equal(c.resources?.requests?.cpu, String(v.vllm_request_cpu));
  assert.equal(c.resources?.requests?.memory, v.vllm_request_memory);
  const gpus = v.vllm_engine === 'vllm' ? v.vllm_request_gpu ?? 0 : 0;
  assert.equal(c.resources?.limits?.[v.vllm_gpu_type || 'nvidia.com/gpu'], gpus > 0 ? String(gpus) : undefined);
  // Secrets are referenced, never inlined.
  assert.deepEqual(env.get('VLLM_API_KEY')?.valueFrom?.secretKeyRef, secrets.apiKey ? { name: names.secrets, key: 'vllmApiKey' } : undefined);
  assert.deepEqual(env.get('HF_TOKEN')?.valueFrom?.secretKeyRef, secrets.hfToken ? { name: names.secrets, key: 'hfToken' } : undefined);
  for (const s of docs.filter((d) => d.kind === 'Secret')) assert.deepEqual((s as { data?: object }).data ?? {}, {}, `${s.metadata.name} inlines nothing`);
  // Labels per node: the router discovers exactly its own engines.
  assert.equal(engine.spec.template.metadata.labels.release, names.release);
  // Replicas, or the autoscaler.
  assert.equal(engine.spec.replicas, v.vllm_replica_count);
  const scaled = docs.find((d) => d.kind === 'ScaledObject');
  if (v.vllm_autoscaling_enabled) {
    const spec = (scaled as unknown as { spec: { minReplicaCount: number; maxReplicaCount: number; scaleTargetRef: { name: string }; triggers: { metadata: { query: string; threshold: string } }[] } }).spec;
    assert.equal(spec.scaleTargetRef.name, names.engineDeployment);
    assert.deepEqual([spec.minReplicaCount, spec.maxReplicaCount], [v.vllm_autoscaling_min_replicas, v.vllm_autoscaling_max_replicas]);
    assert.equal(spec.triggers[0]?.metadata.threshold, String(v.vllm_autoscaling_waiting_threshold));
    assert.match(spec.triggers[0]?.metadata.query ?? '', new RegExp(`service="${names.engineService}"`));
  } else {
    assert.equal(scaled, undefined);
  }
  // The router: image and every setting on its command line.
  const router = find<Deployment>(docs, 'Deployment', names.routerDeployment);
  const rc = router.spec.template.spec.containers[0] as Container;
  const args = rc.args ?? [];
  assert.equal(flag(args, '--routing-logic'), node.routingLogic);
  assert.equal(flag(args, '--session-key'), v.vllm_router_session_key);
  assert.equal(flag(args, '--engine-stats-interval'), String(v.vllm_router_engine_stats_interval));
  assert.equal(flag(args, '--request-stats-window'), String(v.vllm_router_request_stats_window));
  if (node.routerImpl === 'builtin') {
    assert.equal(flag(args, '--request-timeout'), String(v.vllm_router_request_timeout));
    assert.equal(flag(args, '--max-concurrency'), String(v.vllm_router_max_concurrency));
    assert.equal(flag(args, '--outlier-consecutive-5xx'), String(v.vllm_router_outlier_consecutive_5xx));
    assert.equal(args.includes('--lora-affinity'), v.vllm_lora_enabled && (node.loraAffinity ?? false));
  } else {
    assert.ok(!args.includes('--request-timeout') && !args.includes('--max-concurrency') && !args.includes('--outlier-consecutive-5xx'), 'flags the production-stack router does not have');
  }
  assert.equal(flag(args, '--k8s-label-selector'), `environment=engine,release=${names.release}`);
  assert.equal(rc.image.startsWith(node.routerImpl === 'production-stack' ? 'lmcache/lmstack-router:' : 'ghcr.io/vllm-stack-harness/router:'), true, rc.image);
  // Observability: ServiceMonitors on every node; Prometheus and Grafana come with the baseline release.
  assert.equal(docs.some((d) => d.kind === 'ServiceMonitor'), v.vllm_observability_enabled);
  assert.equal((values['kube-prometheus-stack'] as { enabled: boolean }).enabled, v.vllm_observability_enabled && node.role === 'baseline');
}

test('every Kubernetes defconfig and fragment: values pass the chart, helm renders them, every object validates, every option reaches the manifests', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const chart = await loadChart(CHART_DIR);
  const p = await tempProject();
  const out = await mkdtemp(join(tmpdir(), 'helm-render-'));
  t.after(() => Promise.all([p.remove(), rm(out, { recursive: true, force: true })]));
  const renders: { name: string; v: HelmConfigVars; loaded: LoadedNode; values: Values; file: string; secrets: { apiKey: boolean; hfToken: boolean } }[] = [];
  for (const { spec, edit } of CASES) {
    const config = await configureProject(p, spec, edit);
    for (const loaded of config.nodes) {
      // One case carries both secrets, to see them referenced and never inlined.
      const secrets = spec === 'vllm-existing-cluster' ? { apiKey: true, hfToken: true } : { apiKey: false, hfToken: false };
      const { values } = checkedValues(config.vars, loaded.node, secrets, chart, await observabilityValues(loaded.node, loaded.spec));
      const file = join(out, `${spec}-${loaded.node.name}.yaml`);
      await writeFile(file, stringify(values));
      renders.push({ name: `${spec} ${loaded.node.name}`, v: config.vars, loaded, values, file, secrets });
    }
  }
  // helm template, two at a time (the machine has two cores).
  const manifests = new Map<string, string>();
  for (let i = 0; i < renders.length; i += 2) {
    await Promise.all(renders.slice(i, i + 2).map(async (r) => {
      const names = nodeReleaseNames(r.v, r.loaded.node);
      const res = await $({ quiet: true, nothrow: true })`${HELM} ${templateArgs(names, CHART_DIR, r.file)}`;
      assert.equal(res.exitCode, 0, `${r.name}: ${res.stderr}`);
      manifests.set(r.name, res.stdout);
    }));
  }
  const commands = new Map<string, { sim: boolean; cmd: string[] }>();
  for (const r of renders) {
    await t.test(r.name, async () => {
      const docs = parseAllDocuments(manifests.get(r.name) ?? '').map((d) => d.toJS() as KubeDoc).filter((d) => d !== null);
      assert.ok(docs.length >= 6);
      for (const d of docs) await validateObject(d);
      assertOptionsReach(r.v, r.loaded, r.values, docs, r.secrets);
      const engine = find<Deployment>(docs, 'Deployment', nodeReleaseNames(r.v, r.loaded.node).engineDeployment);
      commands.set(r.name, { sim: r.v.vllm_engine === 'sim', cmd: engine.spec.template.spec.containers[0]?.command ?? [] });
    });
  }
  await t.test('the simulator\'s vllm entry point accepts every engine command line the chart renders, and serves the simulated ones', async () => {
    for (const [name, { cmd }] of commands) assert.doesNotThrow(() => translateVllmArgs(cmd.slice(1)), name);
    const sims = [...commands].filter(([name, c]) => c.sim && (name.startsWith('vllm+sim+lmcache') || name.startsWith('vllm-production-stack-cpu+sim+ab vllm-dev')));
    assert.equal(sims.length, 2);
    for (const [name, { cmd }] of sims) await serveOnce(name, cmd);
  });
  // The dev overrides apply to the dev node only; the served name to both.
  const pair = (spec: string) => renders.filter((r) => r.name.startsWith(`${spec} `)).map((r) => {
    const model = (r.values.servingEngineSpec as { modelSpec: Values[] }).modelSpec[0] as { tag: string; vllmConfig: { extraArgs?: string[] } };
    return { tag: model.tag, extraArgs: model.vllmConfig.extraArgs ?? [], routing: (r.values.routerSpec as Values).routingLogic };
  });
  assert.deepEqual(pair('vllm-production-stack-gpu+ab'), [
    { tag: 'v0.11.0', extraArgs: ['--served-model-name', 'opt'], routing: 'prefixaware' },
    { tag: 'v0.11.1', extraArgs: ['--served-model-name', 'opt', '--max-num-batched-tokens', '4096'], routing: 'prefixaware' },
  ]);
  assert.deepEqual(pair('vllm+ab-router').map((x) => x.routing), ['roundrobin', 'session']);

  // The exact helm and minikube command lines of each Kubernetes defconfig (README quotes them).
  const lines = Object.fromEntries(renders.filter((r) => /^vllm(-production-stack-(cpu|gpu)|-existing-cluster)? vllm-baseline$/.test(r.name)).map((r) => {
    const names = nodeReleaseNames(r.v, r.loaded.node);
    const env = {};
    return [r.name.split(' ')[0], {
      helm: installArgs(names, 'CHART', 'VALUES', deployTimeoutSeconds(r.v), clusterAccess({ ...r.loaded.vars, vllm_kubeconfig: r.loaded.vars.vllm_kubeconfig?.replace('~', 'HOME') }, env)).join(' '),
      minikube: r.v.vllm_target === 'minikube' ? [minikubeStartArgs(r.loaded.vars, 'docker'), ...minikubeAddonArgs(r.loaded.vars)].map((a) => a.join(' ')) : [],
    }];
  }));
  const helm = (timeout: number, context: string) => `upgrade --install vllm-baseline CHART --namespace vllm-system --create-namespace --values VALUES --wait --timeout ${timeout}s --kubeconfig HOME/.kube/config${context}`;
  assert.deepEqual(lines, {
    vllm: { helm: helm(1200, ' --kube-context minikube'), minikube: ['start --driver docker --cpus 4 --memory 16384mb'] },
    'vllm-production-stack-cpu': { helm: helm(1200, ' --kube-context minikube'), minikube: ['start --driver docker --cpus 4 --memory 16384mb'] },
    'vllm-production-stack-gpu': { helm: helm(1800, ' --kube-context minikube'), minikube: ['start --driver docker --cpus 6 --memory 69632mb --container-runtime docker --gpus all', 'addons enable nvidia-device-plugin'] },
    'vllm-existing-cluster': { helm: helm(1800, ''), minikube: [] },
  });
});

test('values the chart would ignore or refuse stop the deploy, naming the CONFIG_ symbol', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const chart = await loadChart(CHART_DIR);
  const p = await tempProject();
  t.after(() => p.remove());
  const config = await configureProject(p, 'vllm-production-stack-cpu+ab-router');
  const [baseline, dev] = config.nodes as [LoadedNode, LoadedNode];
  const none = { apiKey: false, hfToken: false };
  const check = (vars: HelmConfigVars, n: LoadedNode) => () => checkedValues(vars, n.node, none, chart);
  // A routing logic the chart's router has no name for.
  assert.throws(check(config.vars, { ...baseline, node: { ...baseline.node, routingLogic: 'leastloaded' } }), /routerSpec\.routingLogic="leastloaded" \(from CONFIG_VLLM_ROUTING_LOGIC\): not a value the chart accepts; allowed: "roundrobin", "session"/);
  assert.throws(check(config.vars, { ...dev, node: { ...dev.node, routingLogic: 'leastloaded', overrides: { routing_logic: 'leastloaded' } } }), /vllm-dev: routerSpec\.routingLogic="leastloaded" \(from CONFIG_VLLM_DEV_ROUTING_LOGIC\)/);
  assert.throws(check({ ...config.vars, vllm_autoscaling_enabled: true, vllm_autoscaling_min_replicas: 1, vllm_autoscaling_max_replicas: 2, vllm_autoscaling_waiting_threshold: 5, vllm_observability_enabled: false }, baseline), /CONFIG_VLLM_AUTOSCALING_ENABLED=y needs CONFIG_VLLM_OBSERVABILITY_ENABLED=y/);
  assert.throws(check({ ...config.vars, vllm_helm_release_name: 'a-release-name-that-is-much-too-long-for-kubernetes-dns' }, baseline), /CONFIG_VLLM_HELM_RELEASE_NAME=.*longer than the 63 characters/);
  // The known-keys check is what catches a key Helm would drop silently: prove it fails on one.
  const values = helmValues(config.vars, baseline.node, none);
  (values.routerSpec as Values).routingAlgorithm = 'session';
  ((values.servingEngineSpec as { modelSpec: Values[] }).modelSpec[0] as Values).lmcache = { enabled: true };
  const problems = validateValues(values, chart, baseline.node);
  assert.deepEqual(problems.map((x) => x.path), ['servingEngineSpec.modelSpec[0].lmcache', 'routerSpec.routingAlgorithm']);
  assert.match(problems[0]?.message ?? '', /Helm would ignore it silently/);
  assert.deepEqual(validateValues(helmValues(config.vars, baseline.node, none), chart, baseline.node), []);
});

test('the keys allowed outside the chart schema and values.yaml are still read by its templates', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  for (const [key, template] of Object.entries(TEMPLATE_ONLY_KEYS)) {
    const text = await readFile(join(CHART_DIR, template), 'utf8');
    const last = key.split('.').at(-1) as string;
    // Read by hasKey "name", or as a field (.name).
    assert.ok(text.includes(`"${last}"`) || new RegExp(`\\.${last}\\b`).test(text), `${template} no longer reads ${key}`);
  }
  assert.ok(OPAQUE_KEYS.has('extraObjects[]'));
});

test('make vllm-render without the chart still writes every node\'s values, then fails naming the chart and the way out', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  // A repository nothing listens on: the pull fails at once, as it does offline.
  await configureProject(p, 'vllm+ab', { VLLM_PROD_STACK_CHART_REPO: 'http://127.0.0.1:9' });
  const env = { ...process.env };
  delete env.VLLM_PROD_STACK_CHART_PATH;
  const out = await $({ cwd: p.dir, nothrow: true, quiet: true, env })`node ${join(REPO, 'dist/scripts/vllm-render.js')}`;
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, /VLLM_PROD_STACK_CHART_PATH/);
  for (const node of ['vllm-baseline', 'vllm-dev']) {
    const file = join(p.dir, 'work', node, 'helm', 'values.yaml');
    assert.match(out.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(not checked against the chart\\)`));
    assert.match(await readFile(file, 'utf8'), /servingEngineSpec:/);
    assert.ok(!existsSync(join(p.dir, 'work', node, 'helm', 'manifests.yaml')));
  }
});
