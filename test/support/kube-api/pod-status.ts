// A pod's readiness, as the kubelet reports it in status and clients read it.
import type { KubeObject } from './store.js';

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

export function isReady(pod: KubeObject): boolean {
  const conditions = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}
