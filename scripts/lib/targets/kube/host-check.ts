// Can this machine run minikube as configured? Each missing prerequisite is
// reported with the fix; the facts are gathered apart so the rules are pure.
import { cpus, release, totalmem } from 'node:os';
import { $, which } from 'zx';

export interface HostFacts {
  docker: string | null;
  podman: string | null;
  /** Why `docker info` (or `podman info`) failed, or null when the engine answers. */
  engineError: string | null;
  minikube: string | null;
  nvidiaSmi: string | null;
  nvidiaCtk: string | null;
  kernel: string;
  cpus: number;
  memoryMiB: number;
}

export async function hostFacts(): Promise<HostFacts> {
  const find = async (name: string) => (await which(name, { nothrow: true })) ?? null;
  const docker = await find('docker');
  const podman = await find('podman');
  const engine = docker ?? podman;
  // The CLI alone is not enough: minikube needs the engine's daemon (or podman's service) to answer.
  const info = engine ? await $({ quiet: true, nothrow: true, timeout: '20s' })`${engine} info`.catch((err: Error) => ({ exitCode: 1, stderr: err.message })) : null;
  return {
    docker, podman, engineError: info === null || info.exitCode === 0 ? null : info.stderr.trim().split('\n').at(-1) ?? `exit ${info.exitCode}`,
    minikube: await find('minikube'),
    nvidiaSmi: await find('nvidia-smi'), nvidiaCtk: await find('nvidia-ctk'),
    kernel: release(), cpus: cpus().length, memoryMiB: Math.floor(totalmem() / 2 ** 20),
  };
}

export interface HostCheckVars {
  vllm_minikube_cpus?: number;
  vllm_minikube_memory?: number;
  vllm_minikube_version?: string;
  vllm_engine: string;
  vllm_request_gpu?: number;
}

/** minikube's driver: docker when installed, else podman. */
export function minikubeDriver(f: Pick<HostFacts, 'docker' | 'podman'>): 'docker' | 'podman' | null {
  return f.docker ? 'docker' : f.podman ? 'podman' : null;
}

export function checkHost(v: HostCheckVars, f: HostFacts): { lines: string[]; problems: string[] } {
  const lines: string[] = [];
  const problems: string[] = [];
  const driver = minikubeDriver(f);
  if (driver && f.engineError) problems.push(`${driver} is installed (${f[driver]}) but does not answer (${driver} info: ${f.engineError}): start it (sudo systemctl start ${driver}) and let your user use it (sudo usermod -aG docker $USER, then log in again)`);
  else if (driver) lines.push(`✅ ${driver} at ${f[driver]} answers (minikube's driver)`);
  else problems.push('neither docker nor podman is installed; minikube runs its cluster in a container. Install Docker Engine (Debian/Ubuntu: sudo apt-get install docker.io && sudo usermod -aG docker $USER, then log in again; others: https://docs.docker.com/engine/install/) or podman (sudo apt-get install podman)');
  lines.push(f.minikube
    ? `✅ minikube at ${f.minikube} (bring-up replaces it when it is not ${v.vllm_minikube_version})`
    : `➖ minikube is not installed: bring-up installs the pinned ${v.vllm_minikube_version} (CONFIG_VLLM_MINIKUBE_VERSION) from its GitHub release, checksum-verified, once the prerequisites here are met; or install it yourself: https://minikube.sigs.k8s.io/docs/start/`);
  const major = Number(f.kernel.split('.')[0]);
  if (major >= 4) lines.push(`✅ kernel ${f.kernel}`);
  else problems.push(`kernel ${f.kernel} is too old for minikube's container driver: 4.0 or newer is needed`);
  const wantCpus = v.vllm_minikube_cpus ?? 2;
  if (f.cpus >= wantCpus) lines.push(`✅ ${f.cpus} CPUs (minikube gets ${wantCpus})`);
  else problems.push(`CONFIG_VLLM_MINIKUBE_CPUS=${wantCpus} but this machine has ${f.cpus} CPUs: set it to ${Math.max(2, f.cpus)} or less (make menuconfig)`);
  const wantMem = v.vllm_minikube_memory ?? 2048;
  if (f.memoryMiB >= wantMem) lines.push(`✅ ${f.memoryMiB} MiB memory (minikube gets ${wantMem})`);
  else problems.push(`CONFIG_VLLM_MINIKUBE_MEMORY=${wantMem} (MiB) but this machine has ${f.memoryMiB} MiB: set it to at most ${Math.max(2048, f.memoryMiB - 1024)} (make menuconfig)`);
  if (v.vllm_engine === 'vllm' && (v.vllm_request_gpu ?? 0) > 0) {
    if (f.nvidiaSmi) lines.push(`✅ NVIDIA driver (${f.nvidiaSmi})`);
    else problems.push(`CONFIG_VLLM_REQUEST_GPU=${v.vllm_request_gpu} but the NVIDIA driver is not installed (no nvidia-smi): install the driver for your GPU (https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/), or use CPU inference (CONFIG_VLLM_USE_CPU_INFERENCE)`);
    if (f.nvidiaCtk) lines.push(`✅ NVIDIA container toolkit (${f.nvidiaCtk})`);
    else problems.push('minikube --gpus all needs the NVIDIA container toolkit (no nvidia-ctk): https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html, then sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker');
  }
  return { lines, problems };
}
