// The command lines of real vLLM engines on the local target and declared
// hosts, as generated, for each install mode (venv, container under docker or
// podman, PATH) on GPUs and CPUs, with tensor parallelism, LoRA and P/D. No
// GPU answers here: these are the commands a GPU box would run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateExtraVars } from '../scripts/lib/config/validate.js';
import { readSchema } from '../scripts/lib/config/index.js';
import { engineGpus, nodeGpuCount } from '../scripts/lib/vocabulary/node-plan.js';
import { nodePlan, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';
import { engineCommand, engineContainerName } from '../scripts/lib/targets/local/process-commands.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { tempProject } from './support/temp-project.js';

const HOME = '/home/u';

const vars: StackConfigVars = {
  vllm_engine: 'vllm', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
  vllm_max_model_len: 2048, vllm_max_num_seqs: 16, vllm_dtype: 'auto', vllm_gpu_memory_utilization: 90,
  vllm_tensor_parallel_size: 1, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: false,
  vllm_lmcache_cpu_buffer_size: 4, vllm_router_enabled: true,
  vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 5, vllm_router_request_stats_window: 60, vllm_router_outlier_consecutive_5xx: 5,
  vllm_router_request_timeout: 600, vllm_router_max_concurrency: 4096,
  vllm_observability_enabled: false, vllm_autoscaling_enabled: false, vllm_autoscaling_max_replicas: 4,
  vllm_engine_install: 'venv', vllm_version: '0.11.0', vllm_venv_dir: '~/.local/share/vllm-stack-harness/vllm-venv', vllm_hf_cache_dir: '~/.cache/huggingface',
  vllm_request_gpu: 1, vllm_engine_image_repo: 'vllm/vllm-openai', vllm_engine_image_tag: 'v0.11.0', vllm_container_runtime: 'docker',
};
const node: StackNodeSettings = {
  name: 'vllm-baseline', role: 'baseline', index: 0, host: null, workDir: '/w/vllm-baseline', stateDir: '/w/.deployed', routerPort: 8000, enginePortBase: 8001,
  prometheusPort: 9090, routerImpl: 'builtin', routingLogic: 'roundrobin', lmcacheEnabled: false, extraEngineArgs: [],
};
const spec = (over: Partial<StackConfigVars> = {}, nodeOver: Partial<StackNodeSettings> = {}) => nodePlan({ ...vars, ...over }, { ...node, ...nodeOver }, { hfToken: 'hf-secret', apiKey: 'api-secret' }, HOME);
const flagValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const flagValues = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
const noSecrets = (args: string[]) => {
  for (const a of args) assert.ok(!a.includes('hf-secret') && !a.includes('api-secret'), `a secret is on the command line: ${a}`);
};

test('venv: the venv\'s vllm serve with the engine flags, one GPU per replica, models in the configured cache', () => {
  const s = spec();
  const [e0, e1] = [engineCommand(s, 0), engineCommand(s, 1)];
  assert.equal(e0.command, '/home/u/.local/share/vllm-stack-harness/vllm-venv/bin/vllm', '~ is the home of the node\'s user');
  assert.deepEqual(e0.args.slice(0, 6), ['serve', 'facebook/opt-125m', '--host', '127.0.0.1', '--port', '8001']);
  assert.equal(flagValue(e0.args, '--tensor-parallel-size'), '1');
  assert.equal(flagValue(e0.args, '--gpu-memory-utilization'), '0.90');
  assert.deepEqual([e0.env.CUDA_VISIBLE_DEVICES, e1.env.CUDA_VISIBLE_DEVICES], ['0', '1']);
  assert.equal(e0.env.HF_HOME, '/home/u/.cache/huggingface');
  assert.equal(e0.env.HF_TOKEN, 'hf-secret', 'the token reaches vLLM through its environment');
  noSecrets(e0.args);
  assert.deepEqual(e0.marker, ['--host', '127.0.0.1', '--port', '8001']);
  assert.equal(e0.cleanup, undefined, 'a host process leaves nothing behind');
});

test('tensor parallel 2: each replica gets two GPUs of its own, the dev node on the same machine the next ones', () => {
  const tp = { vllm_tensor_parallel_size: 2, vllm_request_gpu: 2 };
  const s = spec(tp);
  assert.deepEqual([engineGpus(s, 0), engineGpus(s, 1)], [[0, 1], [2, 3]]);
  assert.equal(nodeGpuCount(s), 4);
  assert.equal(engineCommand(s, 1).env.CUDA_VISIBLE_DEVICES, '2,3');
  assert.equal(flagValue(engineCommand(s, 1).args, '--tensor-parallel-size'), '2');
  const dev = spec(tp, { name: 'vllm-dev', role: 'dev', index: 1, enginePortBase: 8101 });
  assert.deepEqual(engineGpus(dev, 0), [4, 5], 'baseline holds 0..3');
  const declared = spec(tp, { name: 'vllm-dev', role: 'dev', index: 1, host: 'gpu-b' });
  assert.deepEqual(engineGpus(declared, 0), [0, 1], 'a declared host has its GPUs to itself');
  const scaling = spec({ ...tp, vllm_autoscaling_enabled: true, vllm_autoscaling_max_replicas: 3 }, { name: 'vllm-dev', role: 'dev', index: 1 });
  assert.deepEqual(engineGpus(scaling, 0), [6, 7], 'GPUs are reserved for every engine baseline can scale to');
});

test('container under docker: foreground run on the host network, its GPUs, the cache mounted, secrets by name only', () => {
  const s = spec({ vllm_engine_install: 'container', vllm_tensor_parallel_size: 2, vllm_request_gpu: 2 });
  const c = engineCommand(s, 1);
  assert.equal(c.command, 'docker');
  const image = c.args.indexOf('vllm/vllm-openai:v0.11.0');
  assert.ok(image > 0);
  const [runArgs, serve] = [c.args.slice(0, image), c.args.slice(image + 1)];
  assert.deepEqual(runArgs.slice(0, 4), ['run', '--rm', '--name', 'vllm-baseline-engine-1-8002']);
  for (const f of ['--init', '--sig-proxy=true', '--network=host', '--ipc=host']) assert.ok(runArgs.includes(f), f);
  assert.ok(!runArgs.includes('-d') && !runArgs.includes('--detach'), 'in the foreground: the harness\'s pid is the engine\'s');
  assert.equal(flagValue(runArgs, '--gpus'), '"device=2,3"', 'docker reads a list of devices only quoted');
  assert.deepEqual(flagValues(runArgs, '-v'), ['/home/u/.cache/huggingface:/root/.cache/huggingface']);
  assert.deepEqual(flagValues(runArgs, '--env').sort(), ['HF_TOKEN', 'VLLM_API_KEY']);
  assert.equal(flagValue(runArgs, '--entrypoint'), 'vllm');
  assert.deepEqual(serve, engineCommand(spec({ vllm_tensor_parallel_size: 2, vllm_request_gpu: 2 }), 1).args, 'the same vllm serve as from a venv');
  assert.equal(c.env.HF_TOKEN, 'hf-secret', 'docker takes the value from the client\'s environment');
  assert.equal(c.env.CUDA_VISIBLE_DEVICES, undefined, 'inside, the container sees only its GPUs');
  noSecrets(c.args);
  assert.deepEqual(c.marker, ['--name', engineContainerName(s, 1)]);
  assert.deepEqual(c.cleanup, ['docker', 'rm', '--force', 'vllm-baseline-engine-1-8002'], 'a killed client leaves its container, which stop removes');
});

test('container under podman: GPUs by CDI device names', () => {
  const c = engineCommand(spec({ vllm_engine_install: 'container', vllm_container_runtime: 'podman', vllm_tensor_parallel_size: 2, vllm_request_gpu: 2 }), 0);
  assert.equal(c.command, 'podman');
  assert.deepEqual(flagValues(c.args, '--device'), ['nvidia.com/gpu=0', 'nvidia.com/gpu=1']);
  assert.ok(!c.args.includes('--gpus'));
  assert.deepEqual(c.cleanup, ['podman', 'rm', '--force', 'vllm-baseline-engine-0-8001']);
});

test('CPU inference: no GPU flag, no device pinning, the CPU image', () => {
  const cpu = { vllm_use_cpu_inference: true, vllm_request_gpu: 0, vllm_engine_image_repo: 'openeuler/vllm-cpu', vllm_engine_image_tag: '0.9.1-oe2403lts' };
  const c = engineCommand(spec({ ...cpu, vllm_engine_install: 'container' }), 0);
  assert.ok(!c.args.includes('--gpus') && !c.args.includes('--device'));
  assert.ok(c.args.includes('openeuler/vllm-cpu:0.9.1-oe2403lts'));
  assert.ok(!c.args.includes('--gpu-memory-utilization'));
  const own = engineCommand(spec({ ...cpu, vllm_engine_install: 'path' }), 0);
  assert.equal(own.command, 'vllm', 'your own CPU build on PATH');
  assert.equal(own.env.CUDA_VISIBLE_DEVICES, undefined);
});

test('LoRA: adapters on host paths are mounted read-only at the same path; P/D: KV side channels on the host network', () => {
  const s = spec({ vllm_engine_install: 'container', vllm_lora_enabled: true, vllm_lora_adapters: 'sql=/data/lora/sql chat=org/chat-lora', vllm_lora_max_loras: 2, vllm_lora_runtime_updating: true });
  const c = engineCommand(s, 0);
  assert.deepEqual(flagValues(c.args, '-v'), ['/home/u/.cache/huggingface:/root/.cache/huggingface', '/data/lora/sql:/data/lora/sql:ro'], 'a Hub id needs no mount');
  assert.ok(c.args.includes('--enable-lora'));
  assert.ok(flagValues(c.args, '--env').includes('VLLM_ALLOW_RUNTIME_LORA_UPDATING'));
  const pd = spec({ vllm_engine_install: 'container' }, { pd: { prefill: 1, decode: 1, routingLogic: 'disaggregated_prefill' } });
  const prefill = engineCommand(pd, 0);
  assert.ok(prefill.args.includes('--network=host'), 'the decode engine\'s NIXL port is on the host\'s loopback');
  assert.deepEqual(flagValues(prefill.args, '--env').filter((k) => k?.startsWith('LMCACHE_NIXL')).sort(), ['LMCACHE_NIXL_RECEIVER_HOST', 'LMCACHE_NIXL_RECEIVER_PORT', 'LMCACHE_NIXL_ROLE']);
  assert.equal(prefill.env.LMCACHE_NIXL_RECEIVER_PORT, '8052');
  assert.match(flagValue(prefill.args, '--kv-transfer-config') ?? '', /kv_producer/);
});

test('the dev node runs its own image tag (A/B of two vLLM builds)', () => {
  const dev = spec({ vllm_engine_install: 'container' }, { name: 'vllm-dev', role: 'dev', index: 1, host: 'gpu-b', engineImageTag: 'v0.11.1' });
  assert.ok(engineCommand(dev, 0).args.includes('vllm/vllm-openai:v0.11.1'));
  assert.ok(engineCommand(spec({ vllm_engine_install: 'container' }, { engineImageTag: '' }), 0).args.includes('vllm/vllm-openai:v0.11.0'), 'empty: baseline\'s tag');
});

test('validation refuses install modes that cannot run, naming the option and the way out', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const base = (await configureProject(p, 'vllm-quick-test+gpu')).vars as unknown as Record<string, unknown>;
  const schema = readSchema();
  const problems = (over: Record<string, unknown>) => validateExtraVars({ ...base, ...over }, schema, p.dir).map((x) => `CONFIG_${x.symbol}: ${x.message}`).join('\n');
  assert.equal(problems({}), '', 'the GPU venv configuration itself is valid');
  assert.match(problems({ vllm_use_cpu_inference: true, vllm_request_gpu: 0 }), /CONFIG_VLLM_USE_CPU_INFERENCE: .*built for CUDA GPUs.*CONFIG_VLLM_ENGINE_INSTALL_CONTAINER/);
  assert.match(problems({ vllm_request_gpu: 0 }), /CONFIG_VLLM_REQUEST_GPU: gives each engine no GPU, but CPU inference is off/);
  const container = { vllm_engine_install: 'container', vllm_engine_install_container: true, vllm_engine_install_venv: false, vllm_container_runtime: 'docker', vllm_container_runtime_docker: true, vllm_engine_image_repo: 'vllm/vllm-openai', vllm_engine_image_tag: 'v0.11.0' };
  assert.match(problems({ ...container, vllm_use_cpu_inference: true, vllm_request_gpu: 0 }), /CONFIG_VLLM_ENGINE_IMAGE_REPO: is vLLM's CUDA image, but CPU inference is on/);
  assert.match(problems({ vllm_tensor_parallel_size: 2 }), /CONFIG_VLLM_TENSOR_PARALLEL_SIZE: larger than the GPUs requested per replica \(1\)/);
  assert.match(problems({ vllm_target: 'minikube', vllm_target_local: false, vllm_k8s_minikube: true }), /CONFIG_VLLM_ENGINE_INSTALL: applies to real vLLM on the local target and declared hosts only; on Kubernetes the engine image runs in pods/);
  assert.match(problems({ vllm_venv_dir: 'relative/venv' }), /CONFIG_VLLM_VENV_DIR: does not match/);
  assert.match(problems({ vllm_version: 'latest' }), /CONFIG_VLLM_VERSION: does not match/);
  assert.match(problems({ ...container, vllm_engine_image_tag: 'v0.11.0 --privileged' }), /CONFIG_VLLM_ENGINE_IMAGE_TAG: does not match/);
});
