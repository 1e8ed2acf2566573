// Bring-up checks of a cluster, before anything is installed: it answers, we
// may create what the chart creates in the namespace and the release's lock
// (SelfSubjectAccessReview, as `kubectl auth can-i` asks), enough GPUs are
// advertised, and KEDA runs when autoscaling needs it. Each failure says what is missing and what to do.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';

export interface AccessNeed {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  why: string;
}

/** What helm install of the chart and the harness afterwards do in the namespace. */
export const NAMESPACE_NEEDS: AccessNeed[] = [
  { verb: 'create', group: 'apps', resource: 'deployments', why: 'the engines and the router' },
  { verb: 'create', group: '', resource: 'services', why: 'the router and engine Services' },
  { verb: 'create', group: '', resource: 'secrets', why: 'the API key, HF token and Helm\'s release record' },
  { verb: 'create', group: '', resource: 'serviceaccounts', why: 'the router\'s service account' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', why: 'the router\'s right to watch pods' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', why: 'the router\'s right to watch pods' },
  { verb: 'create', group: '', resource: 'configmaps', why: 'the Grafana dashboards' },
  { verb: 'list', group: '', resource: 'pods', why: 'finding the engines' },
  { verb: 'delete', group: '', resource: 'pods', why: 'the fault suite stopping engines' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'portforward', why: 'reaching the router and engines from this node' },
  { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', why: 'the scaling suite' },
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', why: 'the harness\'s lock on the release, for colleagues sharing the cluster' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', why: 'renewing that lock' },
];

export interface GpuVars {
  vllm_engine: string;
  vllm_request_gpu?: number;
  vllm_gpu_type?: string;
  vllm_replica_count: number;
  vllm_autoscaling_enabled: boolean;
  vllm_autoscaling_max_replicas?: number;
  vllm_helm_namespace?: string;
}

export interface ClusterCheckInput {
  kc: KubeConfig;
  names: ReleaseNames[];
  vars: GpuVars;
  timeoutMs?: number;
}

export async function checkCluster(input: ClusterCheckInput): Promise<string[]> {
  const k8s = await kubeClient();
  const { kc, vars } = input;
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const context = kc.getCurrentContext();
  const lines: string[] = [];
  const problems: string[] = [];
  try {
    const version = await Promise.race([
      kc.makeApiClient(k8s.VersionApi).getCode(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${(input.timeoutMs ?? 15_000) / 1000} s`)), input.timeoutMs ?? 15_000).unref()),
    ]);
    lines.push(`✅ cluster ${server} (context ${context}) answers: Kubernetes ${version.gitVersion}`);
  } catch (err) {
    throw new Error(`cannot reach the cluster ${server} (context ${context}): ${(err as Error).message.split('\n')[0]}\n  Check CONFIG_VLLM_KUBECONFIG / VLLM_KUBECONFIG and CONFIG_VLLM_K8S_CONTEXT / VLLM_K8S_CONTEXT (kubectl --context ${context} get nodes must work); on minikube: minikube status`);
  }
  const namespace = input.names[0]?.namespace ?? vars.vllm_helm_namespace ?? 'default';
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const canI = async (need: AccessNeed, ns: string | undefined) => {
    const review = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: ns, verb: need.verb, group: need.group, resource: need.resource, subresource: need.subresource } } } });
    return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
  };
  const exists = await core.readNamespace({ name: namespace }).then(() => true, (err: { code?: number }) => {
    if (err.code === 404) return false;
    throw err;
  });
  const needs = exists ? NAMESPACE_NEEDS : [{ verb: 'create', group: '', resource: 'namespaces', why: `namespace ${namespace} does not exist yet` }, ...NAMESPACE_NEEDS];
  const denied: string[] = [];
  for (const need of needs) {
    const r = await canI(need, need.resource === 'namespaces' ? undefined : namespace);
    if (!r.allowed) denied.push(`${need.verb} ${need.resource}${need.subresource ? `/${need.subresource}` : ''}${need.group ? `.${need.group}` : ''} (${need.why})${r.reason ? `: ${r.reason}` : ''}`);
  }
  if (denied.length === 0) lines.push(`✅ may create the chart's objects in namespace ${namespace}${exists ? '' : ' (and create the namespace)'}`);
  else problems.push(`you may not, in namespace ${namespace}: ${denied.join('; ')}. Ask the cluster's admin for these rights in the namespace (a RoleBinding to the built-in admin ClusterRole covers the chart's objects, which include Roles; leases in coordination.k8s.io may need a Role of their own), or set CONFIG_VLLM_HELM_NAMESPACE to a namespace you own`);

  const gpus = vars.vllm_engine === 'vllm' ? vars.vllm_request_gpu ?? 0 : 0;
  if (gpus > 0) {
    const resource = vars.vllm_gpu_type || 'nvidia.com/gpu';
    const replicas = vars.vllm_autoscaling_enabled ? vars.vllm_autoscaling_max_replicas ?? vars.vllm_replica_count : vars.vllm_replica_count;
    const needed = replicas * gpus * input.names.length;
    const nodes = (await core.listNode()).items;
    const per = nodes.map((n) => ({ name: n.metadata?.name ?? '', count: Number(n.status?.allocatable?.[resource] ?? 0) }));
    const total = per.reduce((a, n) => a + n.count, 0);
    const detail = `${replicas} replica(s) × ${gpus} GPU(s)${input.names.length > 1 ? ` × ${input.names.length} nodes (A/B)` : ''} = ${needed} ${resource} needed; the nodes advertise ${total} (${per.map((n) => `${n.name}: ${n.count}`).join(', ') || 'no node'})`;
    if (total >= needed) lines.push(`✅ GPUs: ${detail}`);
    else problems.push(`not enough GPUs: ${detail}. Lower CONFIG_VLLM_REPLICA_COUNT or CONFIG_VLLM_REQUEST_GPU, or add GPU nodes; a GPU node that advertises none lacks the NVIDIA device plugin (minikube addons enable nvidia-device-plugin; on clusters: the NVIDIA GPU operator)`);
  }
  if (vars.vllm_autoscaling_enabled) {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const keda = await ext.readCustomResourceDefinition({ name: 'scaledobjects.keda.sh' }).then(() => true, (err: { code?: number }) => {
      if (err.code === 404) return false;
      throw err;
    });
    if (keda) lines.push('✅ KEDA is installed (scaledobjects.keda.sh)');
    else problems.push('CONFIG_VLLM_AUTOSCALING_ENABLED is set but KEDA is not installed in the cluster (no CustomResourceDefinition scaledobjects.keda.sh): helm install keda keda --repo https://kedacore.github.io/charts --namespace keda --create-namespace (https://keda.sh/docs/deploy/), or turn autoscaling off');
  }
  if (problems.length > 0) throw new Error(`the cluster is not ready for this configuration:\n${problems.map((p) => `  ❌ ${p}`).join('\n')}\n${lines.map((l) => `  ${l}`).join('\n')}`);
  return lines;
}
