// The scheduler's fit check, as kube-scheduler's NodeResourcesFit does it: a
// pod fits when its containers' requests (limits where no request is given)
// plus those of the pods already bound stay within the node's allocatable
// CPU and memory. Pure: quantities in, a verdict and the event text out.

/** A Kubernetes quantity (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/) as a number of base units. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) throw new Error(`not a Kubernetes quantity: "${q}"`);
  const factors: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  return Number(m[1]) * (m[2] ? (factors[m[2]] as number) : 1);
}

export interface Resources {
  cpu: number;
  memory: number;
}

interface ContainerResources {
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
}

/** What a pod asks the scheduler for: the sum of its containers' requests, a limit standing in for a missing request. */
export function podRequests(spec: { containers?: ContainerResources[] }): Resources {
  let cpu = 0;
  let memory = 0;
  for (const c of spec.containers ?? []) {
    const pick = (name: string) => c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
    const cpuQ = pick('cpu');
    const memQ = pick('memory');
    if (cpuQ !== undefined) cpu += parseQuantity(cpuQ);
    if (memQ !== undefined) memory += parseQuantity(memQ);
  }
  return { cpu, memory };
}

/** null when it fits; otherwise the FailedScheduling message a one-node cluster gives. */
export function fitOnNode(want: Resources, used: Resources, allocatable: Resources): string | null {
  const short: string[] = [];
  if (used.cpu + want.cpu > allocatable.cpu + 1e-9) short.push('Insufficient cpu');
  if (used.memory + want.memory > allocatable.memory) short.push('Insufficient memory');
  if (short.length === 0) return null;
  return `0/1 nodes are available: ${short.map((s) => `1 ${s}`).join(', ')}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`;
}
