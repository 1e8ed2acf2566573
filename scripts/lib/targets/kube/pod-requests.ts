// Whether the pods a release renders can be scheduled: every pod's resource
// requests, as helm renders them, against what the cluster's nodes can still
// allocate (allocatable less the requests of the pods already placed there),
// as the scheduler decides. Pure; rendered-check.ts reads the cluster.
import { modelDeployment, type ReleaseNames } from '../../helm/names.js';

/** A rendered Kubernetes object, as much of it as this reads. */
export interface RenderedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

interface Container {
  name?: string;
  resources?: { requests?: Record<string, string | number> };
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
}

/** One kind of pod a release asks for: its requests per pod, how many, and the settings that change them. */
export interface PodDemand {
  owner: string;
  replicas: number;
  /** Per pod: cpu in millicores, memory in bytes, and any extended resource (nvidia.com/gpu) as a count. */
  requests: Record<string, number>;
  /** The configuration settings that set these requests, for the message. */
  settings: string;
}

/** Room left on a node: allocatable less what its pods request, in the units of PodDemand.requests. */
export interface NodeRoom {
  name: string;
  free: Record<string, number>;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/) as a number: "400m" → 0.4, "16Gi" → 17179869184. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) throw new Error(`"${q}" is not a Kubernetes quantity (e.g. 400m, 2, 16Gi, 8192Mi)`);
  const unit = m[2] ?? '';
  return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? 1);
}

/** Requests in the units compared: cpu in millicores, the rest as numbers (bytes, counts). */
function normalise(requests: Record<string, string | number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(requests ?? {})) out[k] = k === 'cpu' ? Math.round(parseQuantity(v) * 1000) : parseQuantity(v);
  return out;
}

/** A pod's effective request, as the scheduler counts it: the sum over containers, or the largest init container when larger. */
export function podRequests(spec: PodSpec): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of spec.containers ?? []) for (const [k, v] of Object.entries(normalise(c.resources?.requests))) sum[k] = (sum[k] ?? 0) + v;
  for (const c of spec.initContainers ?? []) for (const [k, v] of Object.entries(normalise(c.resources?.requests))) sum[k] = Math.max(sum[k] ?? 0, v);
  return sum;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job']);

/** The pods a release's rendered objects ask for, with the setting that changes each. */
export function podDemands(objects: RenderedObject[], names: ReleaseNames): PodDemand[] {
  const demands: PodDemand[] = [];
  for (const o of objects) {
    if (!o.kind || !WORKLOADS.has(o.kind)) continue;
    const spec = o.spec as { replicas?: number; template?: { spec?: PodSpec } } | undefined;
    const name = o.metadata?.name ?? '';
    const engine = [names.engineDeployment, ...Object.values(names.pdModels).map((m) => modelDeployment(names.release, m))].includes(name);
    const settings = engine ? 'CONFIG_VLLM_REQUEST_CPU, CONFIG_VLLM_REQUEST_MEMORY, CONFIG_VLLM_REQUEST_GPU (per engine) and CONFIG_VLLM_REPLICA_COUNT'
      : name === names.routerDeployment ? 'the chart\'s default routerSpec.resources (no setting: give the cluster the room)'
        : 'the chart\'s defaults';
    demands.push({ owner: `${o.kind} ${name}`, replicas: o.kind === 'DaemonSet' ? 1 : spec?.replicas ?? 1, requests: podRequests(spec?.template?.spec ?? {}), settings });
  }
  return demands;
}

function show(resource: string, n: number): string {
  if (resource === 'cpu') return n % 1000 === 0 ? `${n / 1000} CPU` : `${n}m CPU`;
  if (resource === 'memory' || resource.endsWith('storage')) return n % 2 ** 30 === 0 || n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(n % 2 ** 30 === 0 ? 0 : 1)}Gi ${resource}` : `${Math.round(n / 2 ** 20)}Mi ${resource}`;
  return `${n} ${resource}`;
}

/**
 * Places every pod (largest first, each on the node with most room left) and
 * says which cannot be placed: what it requests, the most any node has free,
 * and the setting to change. [] when all fit.
 */
export function fitProblems(demands: PodDemand[], nodes: NodeRoom[], sizeHint: string): string[] {
  const room = nodes.map((n) => ({ name: n.name, free: { ...n.free } }));
  const pods = demands.flatMap((d) => Array.from({ length: d.replicas }, (_, i) => ({ d, i })))
    .sort((a, b) => (b.d.requests.cpu ?? 0) - (a.d.requests.cpu ?? 0) || (b.d.requests.memory ?? 0) - (a.d.requests.memory ?? 0));
  const problems: string[] = [];
  for (const { d, i } of pods) {
    const fits = (n: (typeof room)[number]) => Object.entries(d.requests).every(([k, v]) => v <= (n.free[k] ?? 0));
    const node = room.filter(fits).sort((a, b) => (b.free.cpu ?? 0) - (a.free.cpu ?? 0))[0];
    if (node) {
      for (const [k, v] of Object.entries(d.requests)) node.free[k] = (node.free[k] ?? 0) - v;
      continue;
    }
    if (room.length === 0) {
      problems.push(`${d.owner} cannot be scheduled: the cluster has no schedulable node (kubectl get nodes)`);
      continue;
    }
    const short = Object.entries(d.requests).filter(([k, v]) => !room.some((n) => v <= (n.free[k] ?? 0)))
      .map(([k, v]) => `${show(k, v)} requested, at most ${show(k, Math.max(0, ...room.map((n) => n.free[k] ?? 0)))} free on a node`);
    const why = short.length > 0 ? short.join('; ') : 'no single node has all it requests free at once';
    problems.push(`${d.owner}${d.replicas > 1 ? ` (pod ${i + 1} of ${d.replicas})` : ''} cannot be scheduled: ${why} (Insufficient resources: it would stay Pending). Lower ${d.settings}, or ${sizeHint}`);
  }
  return problems;
}

/** What each node has left: allocatable less the requests of the pods placed on it (the caller leaves out pods the deploy replaces). */
export function nodeRoom(nodes: { name: string; allocatable: Record<string, string | number> }[], pods: { node: string; requests: Record<string, number> }[]): NodeRoom[] {
  return nodes.map((n) => {
    const free = normalise(n.allocatable);
    for (const p of pods.filter((x) => x.node === n.name)) for (const [k, v] of Object.entries(p.requests)) free[k] = (free[k] ?? 0) - v;
    return { name: n.name, free };
  });
}
