// The ReplicaSet controller, reduced to what clients observe: the pods a
// ReplicaSet owns (ownerReferences, controller: true) follow spec.replicas
// (too few: new ones from its template; too many: unscheduled, then not
// ready, then the newest go first), and its status counts them. Terminating
// pods (with a deletionTimestamp) are no longer counted, as on a cluster.
import { isReady } from './pod-status.js';
import type { KubeObject, ObjectStore } from './store.js';

export interface PodControl {
  /** A new pod from the ReplicaSet's template, owned by it. */
  create(rs: KubeObject): void;
  /** Deletes a pod gracefully. */
  remove(namespace: string, name: string): void;
}

/** The objects of a table in owner's namespace whose ownerReferences name it. */
export function ownedBy(store: ObjectStore, resource: string, owner: KubeObject): KubeObject[] {
  return store.list(resource, (o) => o.metadata.namespace === owner.metadata.namespace && (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid));
}

const scheduled = (p: KubeObject) => Boolean((p.status as { podIP?: string } | undefined)?.podIP);

export function reconcileReplicaSet(store: ObjectStore, namespace: string, name: string, pods: PodControl): void {
  const rs = store.get('replicasets', namespace, name);
  if (!rs) return;
  // Being deleted (in the foreground): its pods are going, none is made.
  const want = rs.metadata.deletionTimestamp ? 0 : (rs.spec as { replicas?: number }).replicas ?? 1;
  const active = ownedBy(store, 'pods', rs).filter((p) => !p.metadata.deletionTimestamp);
  for (let i = active.length; i < want; i++) pods.create(rs);
  if (active.length > want) {
    const ranked = [...active].sort((a, b) => Number(scheduled(a)) - Number(scheduled(b)) || Number(isReady(a)) - Number(isReady(b))
      || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name));
    for (const p of ranked.slice(0, active.length - want)) pods.remove(namespace, p.metadata.name);
  }
  updateStatus(store, namespace, name);
}

function updateStatus(store: ObjectStore, namespace: string, name: string): void {
  const rs = store.get('replicasets', namespace, name);
  if (!rs) return;
  const active = ownedBy(store, 'pods', rs).filter((p) => !p.metadata.deletionTimestamp);
  const ready = active.filter(isReady).length;
  const status = { replicas: active.length, fullyLabeledReplicas: active.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation ?? 1 };
  if (JSON.stringify(rs.status) === JSON.stringify(status)) return;
  rs.status = status;
  store.write('replicasets', rs);
}
