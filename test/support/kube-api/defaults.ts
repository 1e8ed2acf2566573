// What a cluster fills in at once when an object is stored, reduced to what
// clients read back: a Service's cluster IP and node ports, a bound PersistentVolumeClaim
// (as with minikube's default StorageClass), an Active Namespace, and an
// Established CustomResourceDefinition. Helm's --wait reads these states.
import type { KubeObject } from './store.js';

let nextClusterIp = 1;

/** The API server's default --service-node-port-range. */
export const NODE_PORT_RANGE = [30000, 32767] as const;
const usedNodePorts = new Set<number>();

/** A free node port of the range, at random as the API server allocates them. */
function allocateNodePort(): number {
  const [lo, hi] = NODE_PORT_RANGE;
  for (;;) {
    const port = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (!usedNodePorts.has(port)) {
      usedNodePorts.add(port);
      return port;
    }
  }
}

type Obj = Record<string, unknown>;

/** The cluster IP of the n-th Service (from 1): the service CIDR 10.96.0.0/12 unless the server is given another. */
export type ServiceAddress = (n: number) => string;
const SERVICE_CIDR: ServiceAddress = (n) => `10.96.${(n >> 8) & 0xff}.${n & 0xff}`;

export function storedDefaults(kind: string, obj: KubeObject, current: KubeObject | undefined, serviceAddress: ServiceAddress = SERVICE_CIDR): void {
  const spec = (obj.spec ?? {}) as Obj;
  if (kind === 'Service') {
    const before = (current?.spec as Obj | undefined)?.clusterIP;
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      const n = nextClusterIp++;
      spec.clusterIP = typeof before === 'string' ? before : serviceAddress(n);
    }
    spec.type ??= 'ClusterIP';
    // NodePort and LoadBalancer Services get a node port per port, kept across updates.
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      const kept = ((current?.spec as Obj | undefined)?.ports ?? []) as { name?: string; nodePort?: number }[];
      for (const port of (spec.ports ?? []) as { name?: string; nodePort?: number }[]) {
        port.nodePort ??= kept.find((k) => k.name === port.name)?.nodePort ?? allocateNodePort();
        usedNodePorts.add(port.nodePort);
      }
    }
    obj.spec = spec;
  } else if (kind === 'PersistentVolumeClaim') {
    const requests = ((spec.resources as Obj | undefined)?.requests ?? {}) as Obj;
    spec.storageClassName ??= 'standard';
    spec.volumeName ??= `pvc-${obj.metadata.uid ?? obj.metadata.name}`;
    obj.spec = spec;
    obj.status = { phase: 'Bound', accessModes: spec.accessModes ?? [], capacity: { storage: requests.storage ?? '1Gi' } };
  } else if (kind === 'Namespace') {
    obj.status = { phase: obj.metadata.deletionTimestamp ? 'Terminating' : 'Active' };
  } else if (kind === 'CustomResourceDefinition') {
    const now = new Date().toISOString();
    const names = spec.names as Obj;
    obj.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
      ],
      acceptedNames: names,
      storedVersions: ((spec.versions ?? []) as { name: string; storage?: boolean }[]).filter((v) => v.storage).map((v) => v.name),
    };
  }
}
