// Which cluster a node talks to: CONFIG_VLLM_KUBECONFIG and
// CONFIG_VLLM_K8S_CONTEXT, overridden by the VLLM_KUBECONFIG and
// VLLM_K8S_CONTEXT environment variables. @kubernetes/client-node is loaded
// only here and only when a cluster is used: importing it costs seconds, and
// the local target never needs it.
import { homedir } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess } from '../../helm/commands.js';

export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

export function clusterAccess(vars: { vllm_kubeconfig?: string; vllm_k8s_context?: string }, env: NodeJS.ProcessEnv = process.env): ClusterAccess {
  return {
    kubeconfig: expandHome(env.VLLM_KUBECONFIG || vars.vllm_kubeconfig || ''),
    context: env.VLLM_K8S_CONTEXT || vars.vllm_k8s_context || '',
  };
}

export type KubeClient = typeof import('@kubernetes/client-node');

let loaded: Promise<KubeClient> | null = null;
export function kubeClient(): Promise<KubeClient> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

/** The KubeConfig of a node: its file (or the default lookup) and context; a clear error when either is missing. */
export async function loadKubeConfig(access: ClusterAccess): Promise<KubeConfig> {
  const k8s = await kubeClient();
  const kc = new k8s.KubeConfig();
  try {
    if (access.kubeconfig) kc.loadFromFile(access.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new Error(`cannot read the kubeconfig ${access.kubeconfig || '(default)'}: ${(err as Error).message}; set CONFIG_VLLM_KUBECONFIG or VLLM_KUBECONFIG to the file of your cluster`);
  }
  if (access.context) {
    if (!kc.getContexts().some((c) => c.name === access.context)) {
      throw new Error(`the kubeconfig ${access.kubeconfig || '(default)'} has no context "${access.context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}); set CONFIG_VLLM_K8S_CONTEXT or VLLM_K8S_CONTEXT`);
    }
    kc.setCurrentContext(access.context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`the kubeconfig ${access.kubeconfig || '(default)'} has no current cluster; set CONFIG_VLLM_K8S_CONTEXT or VLLM_K8S_CONTEXT`);
  return kc;
}
