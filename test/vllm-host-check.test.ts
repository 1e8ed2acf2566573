// The bring-up checks of a node running real vLLM, judged from sample outputs
// of nvidia-smi, docker/podman and the venv: each failing case says what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodePlan, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';
import { cdiGpuDevices, judgeVllmHost, parseNvidiaSmi, type VllmHostFacts } from '../scripts/lib/targets/local/vllm-host-check.js';
import { cleanupProblem } from '../scripts/lib/stack/process-control.js';

const vars: StackConfigVars = {
  vllm_engine: 'vllm', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
  vllm_max_model_len: 2048, vllm_max_num_seqs: 16, vllm_dtype: 'auto', vllm_gpu_memory_utilization: 90,
  vllm_tensor_parallel_size: 2, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: false,
  vllm_router_enabled: false, vllm_observability_enabled: false, vllm_autoscaling_enabled: false,
  vllm_engine_install: 'venv', vllm_version: '0.11.0', vllm_venv_dir: '/opt/venv', vllm_hf_cache_dir: '/hf',
  vllm_request_gpu: 2, vllm_engine_image_repo: 'vllm/vllm-openai', vllm_engine_image_tag: 'v0.11.0', vllm_container_runtime: 'docker',
} as StackConfigVars;
const node: StackNodeSettings = {
  name: 'vllm-baseline', role: 'baseline', index: 0, host: 'gpu-a', workDir: '/w', stateDir: '/w/.deployed', routerPort: 8000, enginePortBase: 8001,
  prometheusPort: 9090, routerImpl: 'builtin', routingLogic: 'roundrobin', lmcacheEnabled: false, extraEngineArgs: [],
};
const spec = (over: Partial<StackConfigVars> = {}, n: Partial<StackNodeSettings> = {}) => nodePlan({ ...vars, ...over }, { ...node, ...n }, {}, '/home/u');
const ok = (stdout: string) => ({ exitCode: 0, stdout, stderr: '' });

// nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader[,nounits] on a 4-GPU box.
const FOUR_H100 = `0, NVIDIA H100 80GB HBM3, 81559, 570.86.15
1, NVIDIA H100 80GB HBM3, 81559, 570.86.15
2, NVIDIA H100 80GB HBM3, 81559, 570.86.15
3, NVIDIA H100 80GB HBM3, 81559, 570.86.15
`;
const TWO_WITH_UNITS = `0, NVIDIA A10G, 23028 MiB, 535.183.01
1, NVIDIA A10G, 23028 MiB, 535.183.01
`;
const venvOk: VllmHostFacts['venvVllm'] = { version: '0.11.0', error: '' };

const judge = (s: ReturnType<typeof spec>, facts: VllmHostFacts) => {
  const out = judgeVllmHost(s, facts);
  return { lines: out.lines.join('\n'), problems: out.problems.join('\n') };
};

test('nvidia-smi rows are parsed with or without units, and a line of something else is refused', () => {
  assert.deepEqual(parseNvidiaSmi(TWO_WITH_UNITS)[1], { index: 1, name: 'NVIDIA A10G', memoryMiB: 23028, driver: '535.183.01' });
  assert.equal(parseNvidiaSmi(FOUR_H100).length, 4);
  assert.throws(() => parseNvidiaSmi('No devices were found'), /unexpected nvidia-smi line "No devices were found"/);
});

test('enough GPUs and a current driver pass; the venv\'s vLLM must be the pinned one', () => {
  const r = judge(spec(), { nvidiaSmi: ok(FOUR_H100), venvVllm: venvOk });
  assert.equal(r.problems, '');
  assert.match(r.lines, /✅ 4 GPU\(s\), 4 for this node: 0 NVIDIA H100 80GB HBM3 80 GiB/);
  assert.match(r.lines, /✅ NVIDIA driver 570\.86\.15/);
  assert.match(r.lines, /✅ vLLM 0\.11\.0 in \/opt\/venv/);
  const other = judge(spec(), { nvidiaSmi: ok(FOUR_H100), venvVllm: { version: '0.10.2', error: '' } });
  assert.match(other.problems, /the venv \/opt\/venv holds vLLM 0\.10\.2, but CONFIG_VLLM_VERSION pins 0\.11\.0; run make bringup to install 0\.11\.0/);
  const none = judge(spec(), { nvidiaSmi: ok(FOUR_H100), venvVllm: { version: null, error: "No module named 'importlib'" } });
  assert.match(none.problems, /the venv \/opt\/venv has no vLLM .*make bringup creates it and installs vllm==0\.11\.0/);
});

test('too few GPUs for replicas × tensor parallelism: the count and the options that lower it', () => {
  const r = judge(spec(), { nvidiaSmi: ok(TWO_WITH_UNITS), venvVllm: venvOk });
  assert.match(r.problems, /2 GPU\(s\) here, 4 needed \(2 engine\(s\) × 2 GPU\(s\)\); lower CONFIG_VLLM_REPLICA_COUNT, CONFIG_VLLM_REQUEST_GPU or CONFIG_VLLM_TENSOR_PARALLEL_SIZE/);
  const scaling = judge(spec({ vllm_autoscaling_enabled: true, vllm_autoscaling_max_replicas: 3, vllm_tensor_parallel_size: 1, vllm_request_gpu: 1 }), { nvidiaSmi: ok(TWO_WITH_UNITS), venvVllm: venvOk });
  assert.match(scaling.problems, /2 GPU\(s\) here, 3 needed .*CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS/, 'an engine scaled up needs its GPU too');
  const devHere = judge(spec({ vllm_tensor_parallel_size: 1, vllm_request_gpu: 1 }, { name: 'vllm-dev', role: 'dev', index: 1, host: null }), { nvidiaSmi: ok(FOUR_H100), venvVllm: venvOk });
  assert.equal(devHere.problems, '');
  assert.match(devHere.lines, /4 GPU\(s\), 2 for this node: 2 NVIDIA/, 'the dev node on this machine takes the GPUs after baseline\'s');
});

test('no nvidia-smi, a failing one, an old driver: each says what to do', () => {
  assert.match(judge(spec(), { nvidiaSmi: null, venvVllm: venvOk }).problems, /nvidia-smi is not on PATH.*install the NVIDIA driver.*or turn on CONFIG_VLLM_USE_CPU_INFERENCE/);
  const failed = { exitCode: 9, stdout: 'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n', stderr: '' };
  assert.match(judge(spec(), { nvidiaSmi: failed, venvVllm: venvOk }).problems, /nvidia-smi failed \(exit 9: NVIDIA-SMI has failed.*reboot after installing the driver/);
  const old = FOUR_H100.replaceAll('570.86.15', '470.256.02');
  assert.match(judge(spec(), { nvidiaSmi: ok(old), venvVllm: venvOk }).problems, /NVIDIA driver 470\.256\.02 is older than 525\.60\.13.*install driver 570 or newer/);
  const compat = judge(spec(), { nvidiaSmi: ok(FOUR_H100.replaceAll('570.86.15', '535.183.01')), venvVllm: venvOk });
  assert.equal(compat.problems, '');
  assert.match(compat.lines, /⚠️ {2}NVIDIA driver 535\.183\.01: runs vLLM's CUDA 12\.8 builds through minor-version compatibility only/);
});

test('docker: the daemon must answer, have NVIDIA\'s toolkit and the image', () => {
  const s = spec({ vllm_engine_install: 'container' });
  const good: VllmHostFacts = { nvidiaSmi: ok(FOUR_H100), runtimeInfo: ok('{"io.containerd.runc.v2":{"path":"runc"},"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}\n'), nvidiaHook: false, cdiDevices: [], imagePresent: true };
  const r = judge(s, good);
  assert.equal(r.problems, '');
  assert.match(r.lines, /✅ docker answers\n.*\n?✅ NVIDIA Container Toolkit for docker --gpus/);
  assert.match(r.lines, /✅ image vllm\/vllm-openai:v0\.11\.0 pulled/);
  assert.equal(judge(s, { ...good, runtimeInfo: ok('{"runc":{"path":"runc"}}'), nvidiaHook: true }).problems, '', 'the hook alone serves --gpus');
  assert.match(judge(s, { ...good, runtimeInfo: ok('{"runc":{"path":"runc"}}') }).problems, /docker has no nvidia runtime.*nvidia-ctk runtime configure --runtime=docker/);
  assert.match(judge(s, { ...good, runtimeInfo: { exitCode: 1, stdout: '', stderr: 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n' } }).problems,
    /docker info failed \(permission denied.*usermod -aG docker USER/);
  assert.match(judge(s, { ...good, runtimeInfo: null }).problems, /docker is not on PATH.*apt install docker\.io/);
  assert.match(judge(s, { ...good, imagePresent: false }).problems, /image vllm\/vllm-openai:v0\.11\.0 is not in docker's local store; make bringup pulls it/);
  const cpu = spec({ vllm_engine_install: 'container', vllm_use_cpu_inference: true, vllm_request_gpu: 0, vllm_engine_image_repo: 'openeuler/vllm-cpu' });
  const onCpu = judge(cpu, { nvidiaSmi: null, runtimeInfo: ok('{"runc":{}}'), nvidiaHook: false, cdiDevices: [], imagePresent: true });
  assert.equal(onCpu.problems, '', 'CPU inference needs neither GPUs nor the toolkit');
  assert.match(onCpu.lines, /CPU inference: no GPU needed/);
});

test('podman: every GPU the node uses must be a CDI device', () => {
  const cdi = cdiGpuDevices([{ path: '/etc/cdi/nvidia.yaml', text: `---
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits: {deviceNodes: [{path: /dev/nvidia0}]}
- name: "1"
  containerEdits: {deviceNodes: [{path: /dev/nvidia1}]}
- name: all
  containerEdits: {}
` }, { path: '/var/run/cdi/other.json', text: '{"cdiVersion":"0.5.0","kind":"vendor.com/fpga","devices":[{"name":"2"}]}' }]);
  assert.deepEqual(cdi.sort(), ['0', '1', 'all']);
  const s = spec({ vllm_engine_install: 'container', vllm_container_runtime: 'podman' });
  const facts: VllmHostFacts = { nvidiaSmi: ok(FOUR_H100), runtimeInfo: ok('{"crun":{}}'), nvidiaHook: false, cdiDevices: cdi, imagePresent: true };
  assert.match(judge(s, facts).problems, /no CDI specification in \/etc\/cdi or \/var\/run\/cdi names nvidia\.com\/gpu=2,3.*nvidia-ctk cdi generate --output=\/etc\/cdi\/nvidia\.yaml/);
  assert.equal(judge(s, { ...facts, cdiDevices: ['0', '1', '2', '3'] }).problems, '');
});

test('the container cleanup: a container already gone is fine, any other failure is reported', () => {
  const rm = ['docker', 'rm', '--force', 'c'];
  assert.equal(cleanupProblem(rm, ok('c\n')), null);
  assert.equal(cleanupProblem(rm, { exitCode: 1, stdout: '', stderr: 'Error response from daemon: No such container: c\n' }), null);
  assert.equal(cleanupProblem(rm, { exitCode: 1, stdout: '', stderr: 'Error response from daemon: removal of container c is already in progress\n' }), null);
  assert.equal(cleanupProblem(['podman', 'rm', '--force', 'c'], { exitCode: 1, stdout: '', stderr: 'Error: no container with name or ID "c" found: no such container\n' }), null);
  assert.match(cleanupProblem(rm, { exitCode: 1, stdout: '', stderr: 'permission denied while trying to connect to the Docker daemon socket\n' }) ?? '', /docker rm --force c failed \(exit 1\): permission denied/);
});

test('the simulator and Kubernetes-only configurations have nothing to check here', () => {
  const s = spec();
  assert.deepEqual(judgeVllmHost({ ...s, engine: { ...s.engine, kind: 'sim' } }, { nvidiaSmi: null }), { lines: [], problems: [] });
  assert.deepEqual(judgeVllmHost(spec({ vllm_engine_install: undefined }), { nvidiaSmi: null }), { lines: [], problems: [] });
});

test('bring-up on a machine without GPUs or the venv refuses real vLLM on GPUs, saying what to install', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { checkNode } = await import('../scripts/lib/targets/local/node-check.js');
  const { onPath } = await import('../scripts/lib/exec.js');
  if (await onPath('nvidia-smi')) return t.skip('this machine has nvidia-smi: the no-GPU answer cannot be shown here');
  const dir = await mkdtemp(join(tmpdir(), 'vllm-host-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const s = spec({ vllm_venv_dir: join(dir, 'venv') }, { host: null, workDir: join(dir, 'work'), routerPort: 8500, enginePortBase: 8501, prometheusPort: 8590 });
  const err = await checkNode(s).then(() => null, (e: Error) => e);
  assert.ok(err, 'no GPU and no venv must fail bring-up');
  assert.match(err.message, /nvidia-smi is not on PATH/);
  assert.match(err.message, new RegExp(`${join(dir, 'venv', 'bin', 'vllm')} does not exist; make bringup creates the venv`));
  assert.equal(err.message.match(/venv/g)?.length, 2, `the missing venv is named once, with its fix:\n${err.message}`);
});
