// What the controller manager and the kubelet would do in the Kubernetes API
// test server, reduced to what the harness observes: Deployments own
// ReplicaSets which own pods (deployment-controller.ts,
// replica-set-controller.ts); pods are created Pending and turn Ready once
// their lifecycle says so; a pod deleted with a grace period keeps running
// with a deletionTimestamp until it has stopped; and the garbage collector
// deletes what a deleted owner owned (ownerReferences), or orphans it, or
// (Foreground) keeps the owner, terminating, until its dependents are gone.
import { podNameSuffix } from './controller-names.js';
import { markDeleting, mustWait } from './finalizers.js';
import { reconcileDeployment } from './deployment-controller.js';
import { podReadyStatus } from './pod-status.js';
import { ownedBy, reconcileReplicaSet, type PodControl } from './replica-set-controller.js';
import type { KubeObject, ObjectStore } from './store.js';

export { isReady, podReadyStatus } from './pod-status.js';

const FOREGROUND = 'foregroundDeletion';

export interface PodLifecycle {
  /** status.podIP of a new pod (default: 127.0.0.1; undefined: none yet, the lifecycle sets it once the pod is scheduled). */
  podIP?(pod: KubeObject): string | undefined;
  /** Called for each new pod; the pod turns Ready when it resolves (start a real engine here). Default: at once. */
  start?(pod: KubeObject): Promise<void>;
  /** Called when a pod is deleted: graceful (with a grace period) or killed; the pod is removed when it resolves. */
  stop?(pod: KubeObject, graceful: boolean): Promise<void>;
}

/** DeleteOptions.propagationPolicy. */
export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export class Workloads {
  /** Reconciliations under way, and those asked for again meanwhile (a pod deleted by its ReplicaSet's reconcile changes that ReplicaSet). */
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly pods: PodControl = { create: (rs) => this.createPod(rs), remove: (ns, name) => void this.deletePod(ns, name, 30) };

  constructor(private readonly store: ObjectStore, private readonly lifecycle: PodLifecycle = {}) {}

  reconcileDeployment(namespace: string, name: string): void {
    this.once(`deployments/${namespace}/${name}`, () => reconcileDeployment(this.store, namespace, name, (ns, rs) => this.reconcileReplicaSet(ns, rs, false)));
  }

  /** Its pods follow spec.replicas; then its Deployment's status (and rollout) follows, unless the Deployment is what asked. */
  reconcileReplicaSet(namespace: string, name: string, upward = true): void {
    this.once(`replicasets/${namespace}/${name}`, () => reconcileReplicaSet(this.store, namespace, name, this.pods));
    const owner = this.store.get('replicasets', namespace, name)?.metadata.ownerReferences?.find((r) => r.kind === 'Deployment' && r.controller);
    if (upward && owner) this.reconcileDeployment(namespace, owner.name);
  }

  /** After owner was removed: its ReplicaSets and pods deleted (Background, Foreground) or left without the owner reference (Orphan). */
  collect(owner: KubeObject, policy: PropagationPolicy): void {
    for (const resource of ['replicasets', 'pods']) {
      for (const dependent of ownedBy(this.store, resource, owner)) {
        const { namespace = '', name } = dependent.metadata;
        if (policy === 'Orphan') {
          dependent.metadata.ownerReferences = dependent.metadata.ownerReferences?.filter((r) => r.uid !== owner.metadata.uid);
          this.store.write(resource, dependent);
        } else if (resource === 'pods') {
          this.deletePod(namespace, name, 30);
        } else if (this.store.remove(resource, namespace, name)) {
          this.collect(dependent, policy);
        }
      }
    }
    // A ReplicaSet deleted under a live Deployment: the Deployment makes it again.
    const deployment = owner.kind === 'ReplicaSet' && owner.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (deployment) this.reconcileDeployment(owner.metadata.namespace ?? '', deployment.name);
  }

  /**
   * Foreground deletion of a Deployment or ReplicaSet: it stays, with a deletionTimestamp and the
   * foregroundDeletion finalizer, while what it owns is deleted (in the foreground too), then goes.
   */
  deleteInForeground(resource: 'deployments' | 'replicasets', namespace: string, name: string): KubeObject | undefined {
    let owner = this.store.get(resource, namespace, name);
    if (!owner) return undefined;
    if (!owner.metadata.deletionTimestamp) {
      owner.metadata.deletionTimestamp = new Date().toISOString();
      owner.metadata.finalizers = [...((owner.metadata.finalizers as string[] | undefined) ?? []), FOREGROUND];
      owner = this.store.write(resource, owner);
      for (const rs of ownedBy(this.store, 'replicasets', owner)) this.deleteInForeground('replicasets', namespace, rs.metadata.name);
      for (const pod of ownedBy(this.store, 'pods', owner)) this.deletePod(namespace, pod.metadata.name, 30);
    }
    return this.finishForeground(resource, namespace, name) ?? this.store.get(resource, namespace, name);
  }

  /** Removes an owner deleted in the foreground once nothing it owns is left; then its own owner may go. */
  private finishForeground(resource: 'deployments' | 'replicasets', namespace: string, name: string): KubeObject | undefined {
    const owner = this.store.get(resource, namespace, name);
    if (!(owner?.metadata.finalizers as string[] | undefined)?.includes(FOREGROUND)) return undefined;
    if (ownedBy(this.store, 'replicasets', owner as KubeObject).length + ownedBy(this.store, 'pods', owner as KubeObject).length > 0) return undefined;
    const removed = this.store.remove(resource, namespace, name);
    const up = owner?.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (up) this.finishForeground('deployments', namespace, up.name);
    return removed;
  }

  /** Graceful (gracePeriodSeconds > 0): deletionTimestamp now, removal when stopped. 0: removed at once. */
  deletePod(namespace: string, name: string, gracePeriodSeconds: number): KubeObject | undefined {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) return undefined;
    if (gracePeriodSeconds === 0) {
      if (mustWait(pod)) return markDeleting(this.store, 'pods', pod);
      const removed = this.store.remove('pods', namespace, name);
      void this.lifecycle.stop?.(pod, false);
      this.reconcileOwner(pod);
      return removed;
    }
    if (pod.metadata.deletionTimestamp) return pod;
    pod.metadata.deletionTimestamp = new Date().toISOString();
    pod.metadata.deletionGracePeriodSeconds = gracePeriodSeconds;
    const marked = this.store.write('pods', pod);
    this.reconcileOwner(pod);
    void Promise.resolve(this.lifecycle.stop?.(pod, true)).finally(() => {
      // Stopped: a pod with finalizers stays, terminating, until they are removed (kube-api/finalizers.ts).
      const now = this.store.get('pods', namespace, name);
      if (now && mustWait(now)) return;
      this.store.remove('pods', namespace, name);
      this.reconcileOwner(pod);
    });
    return marked;
  }

  setReady(namespace: string, name: string, ready: boolean): void {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    podReadyStatus(pod, ready);
    this.store.write('pods', pod);
    this.reconcileOwner(pod);
  }

  /** Changes a pod's status (and spec, for a binding) as the scheduler and kubelet do; its owners' status follows. */
  updatePod(namespace: string, name: string, change: (pod: KubeObject) => void): KubeObject | undefined {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) return undefined;
    change(pod);
    const written = this.store.write('pods', pod);
    this.reconcileOwner(pod);
    return written;
  }

  /** Runs a reconciliation; asked for while it runs, it runs again after, never inside itself. */
  private once(key: string, reconcile: () => void): void {
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    this.running.add(key);
    try {
      do {
        this.again.delete(key);
        reconcile();
      } while (this.again.has(key));
    } finally {
      this.running.delete(key);
    }
  }

  private reconcileOwner(pod: KubeObject): void {
    const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'ReplicaSet' && r.controller);
    if (!owner || !pod.metadata.namespace) return;
    this.reconcileReplicaSet(pod.metadata.namespace, owner.name);
    this.finishForeground('replicasets', pod.metadata.namespace, owner.name);
  }

  private createPod(rs: KubeObject): void {
    const template = (rs.spec as { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> } }).template ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${rs.metadata.name}-${podNameSuffix()}`,
        namespace: rs.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec ?? { containers: [] }),
      status: { phase: 'Pending' },
    };
    const podIP = this.lifecycle.podIP ? this.lifecycle.podIP(pod) : '127.0.0.1';
    pod.status = { phase: 'Pending', ...(podIP !== undefined ? { podIP } : {}) };
    const created = this.store.write('pods', pod);
    const { namespace, name } = created.metadata;
    void Promise.resolve(this.lifecycle.start?.(created)).then(() => {
      const now = this.store.get('pods', namespace, name);
      if (now && !now.metadata.deletionTimestamp) this.setReady(namespace ?? '', name, true);
    }, () => undefined);
  }
}
