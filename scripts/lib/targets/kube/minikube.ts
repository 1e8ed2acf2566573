// The minikube command lines of a node (argument vectors): the cluster sized
// as configured, on the container engine that is there, with GPUs when asked.
export interface MinikubeVars {
  vllm_minikube_cpus?: number;
  vllm_minikube_memory?: number;
  vllm_registry_mirror?: string;
  vllm_engine: string;
  vllm_request_gpu?: number;
}

const wantsGpus = (v: MinikubeVars) => v.vllm_engine === 'vllm' && (v.vllm_request_gpu ?? 0) > 0;

export function minikubeStartArgs(v: MinikubeVars, driver: 'docker' | 'podman'): string[] {
  return [
    'start', '--driver', driver,
    '--cpus', String(v.vllm_minikube_cpus ?? 2),
    '--memory', `${v.vllm_minikube_memory ?? 2048}mb`,
    ...(v.vllm_registry_mirror ? ['--registry-mirror', v.vllm_registry_mirror] : []),
    // GPUs reach minikube's node through the docker runtime and the NVIDIA container toolkit.
    ...(wantsGpus(v) ? ['--container-runtime', 'docker', '--gpus', 'all'] : []),
  ];
}

/** Run after start: the device plugin that makes nodes advertise nvidia.com/gpu. */
export function minikubeAddonArgs(v: MinikubeVars): string[][] {
  return wantsGpus(v) ? [['addons', 'enable', 'nvidia-device-plugin']] : [];
}

