// The target a node runs on, from its configuration: local, or a Kubernetes
// cluster (minikube, an existing one). Without a configuration naming the node,
// the local target still finds what its deployment record says runs.
import type { LoadedNode } from '../stack/load-node.js';
import { LocalTarget } from './local/local-target.js';
import type { NodeEnv, NodeTarget } from './target.js';

export type { AttachedStack, HostCommand, NodeEnv, NodeTarget, Outcome, StepReport } from './target.js';

export async function openTarget(env: NodeEnv, configured: LoadedNode | null): Promise<NodeTarget> {
  if (!configured || configured.vars.vllm_target === 'local') return new LocalTarget(env, configured);
  // Loaded only here: the Kubernetes client costs the local target's every call time.
  const { KubeTarget } = await import('./kube/kube-target.js');
  return new KubeTarget(env, { ...configured, topdir: env.topdir });
}
