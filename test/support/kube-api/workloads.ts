// What the controller manager and the kubelet would do in the Kubernetes API
// test server, reduced to what the harness observes: a Deployment's pods
// follow spec.replicas (created Pending, Ready once their lifecycle says so),
// a pod deleted with a grace period keeps running with a deletionTimestamp
// until it has stopped, and the Deployment's status counts ready replicas.
import { randomBytes } from 'node:crypto';
import type { KubeObject, ObjectStore } from './store.js';

export interface PodLifecycle {
  /** status.podIP of a new pod (default: 127.0.0.1; undefined: none yet, the lifecycle sets it once the pod is scheduled). */
  podIP?(pod: KubeObject): string | undefined;
  /** Called for each new pod; the pod turns Ready when it resolves (start a real engine here). Default: at once. */
  start?(pod: KubeObject): Promise<void>;
  /** Called when a pod is deleted: graceful (with a grace period) or killed; the pod is removed when it resolves. */
  stop?(pod: KubeObject, graceful: boolean): Promise<void>;
}

const rand = (n: number) => randomBytes(n).toString('hex').slice(0, n);

export function podReadyStatus(pod: KubeObject, ready: boolean): void {
  const now = new Date().toISOString();
  const containers = ((pod.spec as { containers?: { name: string; image?: string }[] } | undefined)?.containers ?? [{ name: 'main' }]);
  pod.status = {
    ...(pod.status as object),
    phase: 'Running',
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
    ],
    containerStatuses: containers.map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
  };
}

export class Workloads {
  constructor(private readonly store: ObjectStore, private readonly lifecycle: PodLifecycle = {}) {}

  /** Makes the Deployment's active pods match spec.replicas, then updates its status. */
  reconcile(namespace: string, name: string): void {
    const deploy = this.store.get('deployments', namespace, name);
    if (!deploy) return;
    const spec = deploy.spec as { replicas?: number; template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown } };
    const want = spec.replicas ?? 1;
    const mine = this.podsOf(deploy);
    const active = mine.filter((p) => !p.metadata.deletionTimestamp);
    for (let i = active.length; i < want; i++) this.createPod(deploy);
    if (active.length > want) {
      // As a ReplicaSet does: not-ready pods go first, then the newest.
      const ranked = [...active].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name));
      for (const p of ranked.slice(0, active.length - want)) this.deletePod(namespace, p.metadata.name, 30);
    }
    this.updateStatus(namespace, name);
  }

  podsOf(deploy: KubeObject): KubeObject[] {
    return this.store.list('pods', (p) => p.metadata.namespace === deploy.metadata.namespace && (p.metadata.ownerReferences ?? []).some((r) => r.uid === deploy.metadata.uid));
  }

  /** Graceful (gracePeriodSeconds > 0): deletionTimestamp now, removal when stopped. 0: removed at once. */
  deletePod(namespace: string, name: string, gracePeriodSeconds: number): KubeObject | undefined {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) return undefined;
    if (gracePeriodSeconds === 0) {
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

  /** Changes a pod's status (and spec, for a binding) as the scheduler and kubelet do; its Deployment's status follows. */
  updatePod(namespace: string, name: string, change: (pod: KubeObject) => void): KubeObject | undefined {
    const pod = this.store.get('pods', namespace, name);
    if (!pod) return undefined;
    change(pod);
    const written = this.store.write('pods', pod);
    this.reconcileOwner(pod);
    return written;
  }

  private reconcileOwner(pod: KubeObject): void {
    const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'Deployment');
    if (owner && pod.metadata.namespace) this.reconcile(pod.metadata.namespace, owner.name);
  }

  private createPod(deploy: KubeObject): void {
    const template = (deploy.spec as { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> } }).template ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${deploy.metadata.name}-${rand(10)}-${rand(5)}`,
        namespace: deploy.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deploy.metadata.name, uid: deploy.metadata.uid ?? '', controller: true }],
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

  private updateStatus(namespace: string, name: string): void {
    const deploy = this.store.get('deployments', namespace, name);
    if (!deploy) return;
    const want = (deploy.spec as { replicas?: number }).replicas ?? 1;
    const active = this.podsOf(deploy).filter((p) => !p.metadata.deletionTimestamp);
    const ready = active.filter(isReady).length;
    const previous = (deploy.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
    // The conditions helm's --wait (kstatus) reads: Available, and Progressing with NewReplicaSetAvailable once the rollout is complete.
    const condition = (type: string, ok: boolean, reason: string, message: string) => {
      const status = ok ? 'True' : 'False';
      const before = previous.conditions?.find((c) => c.type === type && c.status === status);
      return { type, status, reason, message, lastTransitionTime: before?.lastTransitionTime ?? new Date().toISOString() };
    };
    const complete = ready >= want && active.length === want;
    const status = {
      observedGeneration: deploy.metadata.generation ?? 1, replicas: active.length, updatedReplicas: active.length, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: Math.max(0, active.length - ready),
      conditions: [
        condition('Available', ready >= want, ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', ready >= want ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
        // Always True, as the controller keeps it until progressDeadlineSeconds passes: only the reason says whether the rollout is complete.
        condition('Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', complete ? `ReplicaSet "${name}" has successfully progressed.` : `ReplicaSet "${name}" is progressing.`),
      ],
    };
    if (JSON.stringify(deploy.status) === JSON.stringify(status)) return;
    deploy.status = status;
    this.store.write('deployments', deploy);
  }
}

export function isReady(pod: KubeObject): boolean {
  const conditions = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}
