// Bring-up checks of a node that runs real vLLM: its GPUs (nvidia-smi), the
// driver, the container runtime and NVIDIA's toolkit for it, the venv's vLLM
// version. Facts are gathered by one function (I/O) and judged by another
// (pure), so that each failing case is unit-tested from sample outputs.
import { access, readdir, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { exec, onPath, type ExecResult } from '../../exec.js';
import { engineGpus, type NodePlan, type VllmRuntime } from '../../vocabulary/node-plan.js';
import { atLeast } from './versions.js';

/** The query bring-up runs; judgeVllmHost reads its CSV. */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,driver_version', '--format=csv,noheader,nounits'];

/**
 * CUDA 12 runs on drivers from 525.60.13 on (minor-version compatibility);
 * vLLM 0.11's wheels and image are built with CUDA 12.8, whose own minimum
 * is 570.26: older drivers run it without PTX JIT, so some kernels may fail.
 */
export const MIN_DRIVER = [525, 60, 13] as const;
export const RECOMMENDED_DRIVER = [570, 26] as const;

/** Where the NVIDIA Container Toolkit writes CDI specifications (nvidia-ctk cdi generate). */
export const CDI_DIRS = ['/etc/cdi', '/var/run/cdi'];

export interface GpuInfo {
  index: number;
  name: string;
  memoryMiB: number;
  driver: string;
}

/** Rows of `nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader[,nounits]`. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    const [index, memory, driver] = [cells[0], cells.at(-2), cells.at(-1)];
    const name = cells.slice(1, -2).join(',');
    const mib = Number((memory ?? '').replace(/\s*MiB$/, ''));
    if (cells.length < 4 || !/^\d+$/.test(index ?? '') || !Number.isFinite(mib) || !/^\d+(\.\d+)*$/.test(driver ?? '')) {
      throw new Error(`unexpected nvidia-smi line "${line}" (expected: index, name, memory.total, driver_version)`);
    }
    return { index: Number(index), name, memoryMiB: mib, driver: driver as string };
  });
}

/** The device names of `nvidia.com/gpu` in CDI specification files (YAML or JSON). */
export function cdiGpuDevices(files: { path: string; text: string }[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    for (const doc of parseAllDocuments(f.text)) {
      const spec = doc.toJS() as { kind?: unknown; devices?: { name?: unknown }[] } | null;
      if (spec?.kind !== 'nvidia.com/gpu' || !Array.isArray(spec.devices)) continue;
      for (const d of spec.devices) if (typeof d.name === 'string') names.add(d.name);
    }
  }
  return [...names];
}

export interface VllmHostFacts {
  /** `nvidia-smi` with NVIDIA_SMI_ARGS; null when it is not on PATH. */
  nvidiaSmi: ExecResult | null;
  /** Container mode: `docker info --format {{json .Runtimes}}` (podman: its OCI runtime); null when the runtime is not on PATH. */
  runtimeInfo?: ExecResult | null;
  /** Container mode: nvidia-container-runtime-hook or nvidia-container-cli on PATH (what docker --gpus calls). */
  nvidiaHook?: boolean;
  /** Container mode: the nvidia.com/gpu devices CDI specifications name (what podman --device uses). */
  cdiDevices?: string[];
  /** Container mode: the engine image is in the runtime's local store. */
  imagePresent?: boolean;
  /** Venv mode: the vLLM version the venv's Python imports, or null with why; absent when the venv has no bin/vllm. */
  venvVllm?: { version: string | null; error: string };
}

export interface CheckOutcome {
  lines: string[];
  problems: string[];
}

function judgeGpus(spec: NodePlan, vllm: VllmRuntime, smi: ExecResult | null, out: CheckOutcome): void {
  const { lines, problems } = out;
  if (vllm.gpusPerEngine === 0) {
    lines.push('✅ CPU inference: no GPU needed');
    return;
  }
  const needed = engineGpus(spec, spec.maxReplicas - 1).at(-1) as number + 1;
  const what = `${spec.maxReplicas} engine(s) × ${vllm.gpusPerEngine} GPU(s)${vllm.firstGpu > 0 ? `, after the ${vllm.firstGpu} of the node before it on this machine` : ''}`;
  if (smi === null) {
    problems.push(`nvidia-smi is not on PATH, so this machine shows no NVIDIA GPU (needed: ${what}); install the NVIDIA driver (on Debian: apt install nvidia-driver, then reboot), or turn on CONFIG_VLLM_USE_CPU_INFERENCE`);
    return;
  }
  if (smi.exitCode !== 0) {
    problems.push(`nvidia-smi failed (exit ${smi.exitCode}: ${(smi.stderr.trim() || smi.stdout.trim()).split('\n')[0]}); the driver is not loaded or does not match the kernel module: reboot after installing the driver, or reinstall it for the running kernel`);
    return;
  }
  let gpus: GpuInfo[];
  try {
    gpus = parseNvidiaSmi(smi.stdout);
  } catch (err) {
    problems.push(`${(err as Error).message}; run nvidia-smi ${NVIDIA_SMI_ARGS.join(' ')} by hand to see what the driver reports`);
    return;
  }
  if (gpus.length < needed) {
    problems.push(`${gpus.length} GPU(s) here, ${needed} needed (${what}); lower CONFIG_VLLM_REPLICA_COUNT${spec.maxReplicas > spec.replicas ? ' or CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS' : ''}, CONFIG_VLLM_REQUEST_GPU or CONFIG_VLLM_TENSOR_PARALLEL_SIZE, or use a machine with more GPUs`);
  } else {
    const mine = gpus.filter((g) => g.index >= vllm.firstGpu && g.index < needed);
    lines.push(`✅ ${gpus.length} GPU(s), ${needed - vllm.firstGpu} for this node: ${mine.map((g) => `${g.index} ${g.name} ${Math.round(g.memoryMiB / 1024)} GiB`).join('; ')}`);
  }
  const driver = gpus[0]?.driver;
  if (driver === undefined) return;
  if (!atLeast(driver, MIN_DRIVER)) {
    problems.push(`NVIDIA driver ${driver} is older than ${MIN_DRIVER.join('.')}, the oldest that runs CUDA 12 (vLLM's builds); install driver ${RECOMMENDED_DRIVER[0]} or newer`);
  } else if (!atLeast(driver, RECOMMENDED_DRIVER)) {
    lines.push(`⚠️  NVIDIA driver ${driver}: runs vLLM's CUDA 12.8 builds through minor-version compatibility only (no PTX JIT); ${RECOMMENDED_DRIVER.join('.')} or newer is CUDA 12.8's own minimum`);
  } else {
    lines.push(`✅ NVIDIA driver ${driver} (≥ ${RECOMMENDED_DRIVER.join('.')})`);
  }
}

function judgeContainer(spec: NodePlan, vllm: VllmRuntime, install: Extract<VllmRuntime['install'], { kind: 'container' }>, facts: VllmHostFacts, out: CheckOutcome): void {
  const { lines, problems } = out;
  const rt = install.runtime;
  const info = facts.runtimeInfo ?? null;
  if (info === null) {
    problems.push(`${rt} is not on PATH, and CONFIG_VLLM_CONTAINER_RUNTIME says engines run under it; install it (on Debian: apt install ${rt === 'docker' ? 'docker.io' : 'podman'}) or choose the other runtime`);
    return;
  }
  if (info.exitCode !== 0) {
    problems.push(`${rt} info failed (${(info.stderr.trim() || info.stdout.trim()).split('\n')[0]}); ${rt === 'docker' ? 'start the daemon (systemctl start docker) and add the user that runs the node to the docker group (usermod -aG docker USER, then log in again)' : 'run podman info as the user that runs the node to see why'}`);
    return;
  }
  lines.push(`✅ ${rt} answers`);
  if (vllm.gpusPerEngine > 0) {
    const gpus = Array.from({ length: spec.maxReplicas }, (_, i) => engineGpus(spec, i)).flat();
    if (rt === 'docker') {
      let runtimes: Record<string, unknown> = {};
      try {
        runtimes = JSON.parse(info.stdout) as Record<string, unknown>;
      } catch {
        // An older docker without the field: the hook on PATH decides.
      }
      if ('nvidia' in runtimes || facts.nvidiaHook) lines.push('✅ NVIDIA Container Toolkit for docker --gpus');
      else problems.push('docker has no nvidia runtime and nvidia-container-runtime-hook is not on PATH, so docker --gpus cannot give engines GPUs; install the NVIDIA Container Toolkit (nvidia-container-toolkit), run sudo nvidia-ctk runtime configure --runtime=docker, then sudo systemctl restart docker');
    } else {
      const devices = new Set(facts.cdiDevices ?? []);
      const missing = gpus.filter((g) => !devices.has(String(g)));
      if (missing.length === 0) lines.push(`✅ CDI specification names GPUs ${gpus.join(',')} (nvidia.com/gpu)`);
      else problems.push(`no CDI specification in ${CDI_DIRS.join(' or ')} names nvidia.com/gpu=${missing.join(',')}, so podman --device cannot give engines those GPUs; install the NVIDIA Container Toolkit and run sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (again after a driver upgrade)`);
    }
  }
  if (facts.imagePresent) lines.push(`✅ image ${install.image} pulled`);
  else problems.push(`image ${install.image} is not in ${rt}'s local store; make bringup pulls it (or: ${rt} pull ${install.image}); check CONFIG_VLLM_ENGINE_IMAGE_REPO and _TAG if the pull failed`);
}

/** What a node needs to run real vLLM, judged from gathered facts: each problem says what to do. */
export function judgeVllmHost(spec: NodePlan, facts: VllmHostFacts): CheckOutcome {
  const out: CheckOutcome = { lines: [], problems: [] };
  const vllm = spec.engine.vllm ?? null;
  if (spec.engine.kind !== 'vllm' || vllm === null) return out;
  judgeGpus(spec, vllm, facts.nvidiaSmi, out);
  const install = vllm.install;
  if (install.kind === 'container') judgeContainer(spec, vllm, install, facts, out);
  // Not asked when the venv has no vllm at all: LocalStack.missingPrograms names that, once.
  const got = facts.venvVllm;
  if (install.kind === 'venv' && got !== undefined) {
    if (got.version === null) out.problems.push(`the venv ${install.venvDir} has no vLLM (${got.error}); make bringup creates it and installs vllm==${install.version} (CONFIG_VLLM_VENV_DIR, CONFIG_VLLM_VERSION)`);
    else if (got.version !== install.version) out.problems.push(`the venv ${install.venvDir} holds vLLM ${got.version}, but CONFIG_VLLM_VERSION pins ${install.version}; run make bringup to install ${install.version}`);
    else out.lines.push(`✅ vLLM ${got.version} in ${install.venvDir}`);
  }
  return out;
}

async function cdiFiles(): Promise<{ path: string; text: string }[]> {
  const files: { path: string; text: string }[] = [];
  for (const dir of CDI_DIRS) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names.filter((x) => /\.(ya?ml|json)$/.test(x))) files.push({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') });
  }
  return files;
}

/** Runs the probes judgeVllmHost reads, on this machine. */
export async function gatherVllmFacts(spec: NodePlan): Promise<VllmHostFacts> {
  const vllm = spec.engine.vllm ?? null;
  if (spec.engine.kind !== 'vllm' || vllm === null) return { nvidiaSmi: null };
  const run = async (cmd: string, args: string[]) => ((await onPath(cmd)) ? exec(cmd, args) : null);
  const facts: VllmHostFacts = { nvidiaSmi: vllm.gpusPerEngine > 0 ? await run('nvidia-smi', NVIDIA_SMI_ARGS) : null };
  const install = vllm.install;
  if (install.kind === 'container') {
    // docker lists its OCI runtimes (nvidia among them once the toolkit configured it); podman has no such
    // list, its GPUs come from CDI files, so the question there is only whether it answers.
    facts.runtimeInfo = await run(install.runtime, ['info', '--format', install.runtime === 'docker' ? '{{json .Runtimes}}' : '{{json .Host.OCIRuntime}}']);
    if (facts.runtimeInfo?.exitCode === 0) facts.imagePresent = (await exec(install.runtime, ['image', 'inspect', install.image])).exitCode === 0;
    facts.nvidiaHook = (await onPath('nvidia-container-runtime-hook')) !== null || (await onPath('nvidia-container-cli')) !== null;
    facts.cdiDevices = cdiGpuDevices(await cdiFiles());
  }
  if (install.kind === 'venv' && (await access(join(install.venvDir, 'bin', 'vllm'), constants.X_OK).then(() => true, () => false))) {
    const python = join(install.venvDir, 'bin', 'python');
    const out = await exec(python, ['-c', 'import importlib.metadata as m; print(m.version("vllm"))']).catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
    facts.venvVllm = out.exitCode === 0 ? { version: out.stdout.trim(), error: '' } : { version: null, error: (out.stderr.trim().split('\n').at(-1) ?? '') || `exit ${out.exitCode}` };
  }
  return facts;
}
