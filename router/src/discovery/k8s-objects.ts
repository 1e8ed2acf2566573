// What a Kubernetes object says about an engine (pure). A pod is an engine
// when all its containers are ready and it has no deletionTimestamp, as the
// production-stack router decides; a Service (service-name discovery) when
// its Endpoints list a ready address. Objects arrive typed from a list and as
// plain JSON from a watch, so times may be Date objects or strings.
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';

/** Why an engine is, or is not, in rotation. */
export type EngineCondition = 'ready' | 'not-ready' | 'terminating' | 'no-address';

export interface EngineView {
  /** The pod's (or Service's) name: the engine's identity while it lives. */
  name: string;
  namespace: string;
  /** http://<address>:<port>, or null before the pod has an address. */
  url: string | null;
  condition: EngineCondition;
  /** When Kubernetes last saw it turn Ready (ISO time), if it says. */
  readySince: string | null;
  /** The pod's `model` label, which production-stack shows as the engine's model label. */
  label: string | null;
}

function iso(t: unknown): string | null {
  if (t === undefined || t === null || t === '') return null;
  const d = t instanceof Date ? t : new Date(String(t));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function engineUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function podEngine(pod: V1Pod, port: number): EngineView {
  const meta = pod.metadata ?? {};
  const statuses = pod.status?.containerStatuses ?? [];
  const ip = pod.status?.podIP ?? '';
  const condition: EngineCondition = meta.deletionTimestamp != null ? 'terminating'
    : statuses.length === 0 || !statuses.every((s) => s.ready) ? 'not-ready'
      : ip === '' ? 'no-address' : 'ready';
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  return {
    name: meta.name ?? '',
    namespace: meta.namespace ?? '',
    url: ip === '' ? null : engineUrl(ip, port),
    condition,
    readySince: condition === 'ready' ? iso(ready?.lastTransitionTime) : null,
    label: meta.labels?.model ?? null,
  };
}

/** The Endpoints object of a Service (same name, labels copied from the Service by Kubernetes). */
export function serviceEngine(endpoints: V1Endpoints, port: number): EngineView {
  const meta = endpoints.metadata ?? {};
  const name = meta.name ?? '';
  const ready = (endpoints.subsets ?? []).some((s) => (s.addresses ?? []).length > 0);
  return {
    name,
    namespace: meta.namespace ?? '',
    url: engineUrl(name, port),
    condition: meta.deletionTimestamp != null ? 'terminating' : ready ? 'ready' : 'not-ready',
    readySince: null,
    label: meta.labels?.model ?? null,
  };
}
