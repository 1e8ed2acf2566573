// The Deployment controller, reduced to what clients observe: a Deployment
// owns one ReplicaSet per pod template, named <deployment>-<pod-template-hash>
// and labelled (selector and pods too) with that hash. The current template's
// ReplicaSet is scaled to spec.replicas; the others are scaled to 0 once it
// is fully available, a rolling update approximated as "new up, then old
// down" (with strategy Recreate: old down, then new up). Its status counts the ReplicaSets' pods, with the conditions helm's
// --wait and kubectl rollout status read.
import { podTemplateHash } from './controller-names.js';
import { ownedBy } from './replica-set-controller.js';
import type { KubeObject, ObjectStore } from './store.js';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';

interface DeploymentSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  template?: { metadata?: { labels?: Record<string, string>; [k: string]: unknown }; spec?: unknown };
  strategy?: { type?: string };
}
interface RsStatus { replicas?: number; readyReplicas?: number; availableReplicas?: number }

const revisionOf = (o: KubeObject) => Number(o.metadata.annotations?.[REVISION] ?? 0);
const statusOf = (rs: KubeObject) => (rs.status ?? {}) as RsStatus;

/** Called with each ReplicaSet whose spec the controller created or changed, to reconcile its pods. */
export type ReplicaSetChanged = (namespace: string, name: string) => void;

export function reconcileDeployment(store: ObjectStore, namespace: string, name: string, changed: ReplicaSetChanged): void {
  const deploy = store.get('deployments', namespace, name);
  // Being deleted (in the foreground): its ReplicaSets are going, none is made or scaled.
  if (!deploy || deploy.metadata.deletionTimestamp) return;
  const spec = deploy.spec as DeploymentSpec;
  const want = spec.replicas ?? 1;
  const hash = podTemplateHash(spec.template, (deploy.status as { collisionCount?: number } | undefined)?.collisionCount);
  const owned = ownedBy(store, 'replicasets', deploy);
  const newName = `${name}-${hash}`;
  const old = owned.filter((rs) => rs.metadata.name !== newName);
  const revision = Math.max(0, ...old.map(revisionOf)) + 1;
  let current = owned.find((rs) => rs.metadata.name === newName);
  // Recreate: every old pod stopped (terminating ones gone too) before the new template's ReplicaSet is scaled up.
  if (spec.strategy?.type === 'Recreate' && old.some((rs) => ownedBy(store, 'pods', rs).length > 0)) {
    scaleToZero(store, old, changed);
    updateStatus(store, namespace, name, newName);
    return;
  }
  if (!current) {
    current = store.write('replicasets', newReplicaSet(deploy, spec, hash, want, revision));
    changed(namespace, newName);
  } else {
    // Back to an older template (a rollback): its ReplicaSet takes the next revision.
    const rollback = revisionOf(current) < revision;
    if ((current.spec as { replicas?: number }).replicas !== want || rollback) {
      (current.spec as { replicas?: number }).replicas = want;
      if (rollback) current.metadata.annotations = { ...current.metadata.annotations, [REVISION]: String(revision) };
      current = store.write('replicasets', current);
      changed(namespace, newName);
    }
  }
  if ((statusOf(current).availableReplicas ?? 0) >= want) scaleToZero(store, old, changed);
  updateStatus(store, namespace, name, newName);
}

function scaleToZero(store: ObjectStore, sets: KubeObject[], changed: ReplicaSetChanged): void {
  for (const rs of sets.filter((x) => ((x.spec as { replicas?: number }).replicas ?? 1) > 0)) {
    (rs.spec as { replicas?: number }).replicas = 0;
    store.write('replicasets', rs);
    changed(rs.metadata.namespace ?? '', rs.metadata.name);
  }
}

function newReplicaSet(deploy: KubeObject, spec: DeploymentSpec, hash: string, replicas: number, revision: number): KubeObject {
  const template = structuredClone(spec.template ?? {});
  const labels = { ...(template.metadata?.labels ?? {}), [HASH]: hash };
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name: `${deploy.metadata.name}-${hash}`, namespace: deploy.metadata.namespace, labels, generation: 1,
      annotations: { [REVISION]: String(revision) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deploy.metadata.name, uid: deploy.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas,
      selector: { ...spec.selector, matchLabels: { ...(spec.selector?.matchLabels ?? {}), [HASH]: hash } },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  };
}

function updateStatus(store: ObjectStore, namespace: string, name: string, newName: string): void {
  const deploy = store.get('deployments', namespace, name);
  if (!deploy) return;
  const want = (deploy.spec as DeploymentSpec).replicas ?? 1;
  const all = ownedBy(store, 'replicasets', deploy);
  const current = all.find((rs) => rs.metadata.name === newName);
  const sum = (key: keyof RsStatus) => all.reduce((n, rs) => n + (statusOf(rs)[key] ?? 0), 0);
  const replicas = sum('replicas');
  const updated = current ? statusOf(current).replicas ?? 0 : 0;
  const ready = sum('readyReplicas');
  const available = sum('availableReplicas');
  const previous = (deploy.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
  const condition = (type: string, ok: boolean, reason: string, message: string) => {
    const status = ok ? 'True' : 'False';
    const before = previous.conditions?.find((c) => c.type === type && c.status === status);
    return { type, status, reason, message, lastTransitionTime: before?.lastTransitionTime ?? new Date().toISOString() };
  };
  const complete = updated === want && replicas === want && available >= want;
  const status = {
    observedGeneration: deploy.metadata.generation ?? 1, replicas, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available, unavailableReplicas: Math.max(0, want - available),
    conditions: [
      condition('Available', available >= want, available >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', available >= want ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      // Always True, as the controller keeps it until progressDeadlineSeconds passes: only the reason says whether the rollout is complete.
      condition('Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', complete ? `ReplicaSet "${newName}" has successfully progressed.` : `ReplicaSet "${newName}" is progressing.`),
    ],
  };
  const revision = current?.metadata.annotations?.[REVISION];
  const annotated = revision === undefined || deploy.metadata.annotations?.[REVISION] === revision;
  if (annotated && JSON.stringify(deploy.status) === JSON.stringify(status)) return;
  if (!annotated) deploy.metadata.annotations = { ...deploy.metadata.annotations, [REVISION]: revision as string };
  deploy.status = status;
  store.write('deployments', deploy);
}
