// One harness at a time per Helm release on a shared cluster. The node lock
// (deployment/node-lock.ts) keeps two commands of one project apart on one
// machine; colleagues on other machines, or in other checkouts, share only the
// cluster. So every node step that changes, perturbs or measures a release
// also holds a coordination.k8s.io Lease named after it, in its namespace, as
// Kubernetes' own controllers elect a leader: holder identity, renewed while
// the step runs, free once it has not been renewed for LEASE_SECONDS.
//
// A step does not clear the lease when it ends (teardown and cleanup do): the
// next step of the same run, seconds later, finds it still held by its own
// project on its own host and goes on, while another project's command is
// refused, naming the holder, until LEASE_SECONDS after the last step.
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { hostname, userInfo } from 'node:os';
import { kubeClient } from './access.js';

/** How long a lease stays held after its last renewal; a step renews it every third of that. */
export const LEASE_SECONDS = 300;

export interface LeaseHolder {
  user: string;
  host: string;
  /** The project directory (the checkout): one project on one host is one holder. */
  project: string;
  pid: number;
  /** What holds it, as a user would type it: "make vllm". */
  command: string;
}

export type LeaseDecision =
  | { kind: 'take' }
  | { kind: 'mine' }
  | { kind: 'busy'; holder: LeaseHolder; renewedAgoS: number; freeInS: number };

export class ReleaseBusyError extends Error {
  readonly code = 'RELEASE_BUSY';
  constructor(readonly release: string, readonly namespace: string, decision: Extract<LeaseDecision, { kind: 'busy' }>) {
    const h = decision.holder;
    super(`release ${release} in namespace ${namespace} is in use by ${h.user}@${h.host} (project ${h.project}): "${h.command}" (pid ${h.pid}) renewed its lease ${decision.renewedAgoS} s ago. `
      + `It is free ${decision.freeInS} s after that command's last step (the Lease ${leaseName(release)} says so: kubectl -n ${namespace} get lease ${leaseName(release)} -o yaml); `
      + 'to work beside it, set CONFIG_VLLM_HELM_RELEASE_NAME or CONFIG_VLLM_HELM_NAMESPACE to your own');
    this.name = 'ReleaseBusyError';
  }
}

export function leaseName(release: string): string {
  return `${release}-harness-lock`;
}

function parseHolder(identity: string | undefined): LeaseHolder | null {
  if (!identity) return null;
  try {
    const h = JSON.parse(identity) as Partial<LeaseHolder>;
    if (typeof h.host === 'string' && typeof h.project === 'string') {
      return { user: String(h.user ?? '?'), host: h.host, project: h.project, pid: Number(h.pid ?? 0), command: String(h.command ?? '?') };
    }
  } catch {
    // Not written by this harness: someone else's holder, shown as it is.
  }
  return { user: '?', host: identity, project: '?', pid: 0, command: '?' };
}

/** How long ago a lease was renewed and how long it stays held, in seconds (≤ 0: expired). Pure. */
export function leaseTiming(spec: NonNullable<V1Lease['spec']>, nowMs: number): { renewedAgoS: number; freeInS: number } {
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  const until = renewed + (spec.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
  return { renewedAgoS: Math.max(0, Math.round((nowMs - renewed) / 1000)), freeInS: Math.ceil((until - nowMs) / 1000) };
}

/** Whether `me` may hold a lease whose spec is `spec` (null: no lease yet) at `nowMs`. Pure. */
export function leaseDecision(spec: V1Lease['spec'] | null, me: LeaseHolder, nowMs: number): LeaseDecision {
  const holder = parseHolder(spec?.holderIdentity ?? undefined);
  if (!spec || !holder) return { kind: 'take' };
  if (holder.host === me.host && holder.project === me.project) return { kind: 'mine' };
  const timing = leaseTiming(spec, nowMs);
  if (timing.freeInS <= 0) return { kind: 'take' };
  return { kind: 'busy', holder, ...timing };
}

export function thisHolder(project: string, command: string): LeaseHolder {
  return { user: userInfo().username, host: hostname(), project, pid: process.pid, command };
}

export interface HeldLease {
  /** Stops renewing, once a renewal under way has ended; the lease stays held until it expires (the run's next step takes it on). */
  stop(): Promise<void>;
  /** Stops renewing and frees the lease now (the release is gone). */
  release(): Promise<void>;
}

const NOT_HELD: HeldLease = { stop: async () => {}, release: async () => {} };

function status(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

/**
 * Takes the release's lease for `holder`, or finds it held by the same
 * project on this host, and renews it until stop() or release(). Throws
 * ReleaseBusyError when someone else holds it. A missing namespace is made
 * by `createNamespace` (deploy); without it, a missing namespace means
 * nothing is deployed there, and no lease is needed.
 */
export async function holdReleaseLease(kc: KubeConfig, namespace: string, release: string, holder: LeaseHolder,
  opts: { createNamespace?: () => Promise<unknown>; renewMs?: number; warn?: (line: string) => void }): Promise<HeldLease> {
  const k8s = await kubeClient();
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  const name = leaseName(release);
  const identity = JSON.stringify(holder);
  const now = () => new k8s.V1MicroTime(Date.now());
  for (let attempt = 0; ; attempt++) {
    // Optimistic concurrency: of two takers, one replace or create fails with 409 and looks again.
    if (attempt > 5) throw new Error(`the Lease ${name} in namespace ${namespace} kept changing while this command tried to take it; run it again`);
    const current = await api.readNamespacedLease({ name, namespace }).catch((err: unknown) => {
      if (status(err) === 404) return null;
      throw err;
    });
    const decision = leaseDecision(current?.spec ?? null, holder, Date.now());
    if (decision.kind === 'busy') throw new ReleaseBusyError(release, namespace, decision);
    const spec = { holderIdentity: identity, leaseDurationSeconds: LEASE_SECONDS, acquireTime: decision.kind === 'mine' ? current?.spec?.acquireTime ?? now() : now(), renewTime: now() };
    try {
      if (current) await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec } });
      else await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'vllm-harness' } }, spec } });
      break;
    } catch (err) {
      if (status(err) === 409) continue;
      if (status(err) === 404 && !current) {
        if (!opts.createNamespace) return NOT_HELD;
        await opts.createNamespace();
        continue;
      }
      throw err;
    }
  }
  let warned = false;
  const renew = async () => {
    try {
      const current = await api.readNamespacedLease({ name, namespace });
      if (current.spec?.holderIdentity !== identity) throw new Error(`it is now held by ${current.spec?.holderIdentity ?? 'nobody'}`);
      await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, renewTime: now() } } });
    } catch (err) {
      if (!warned) opts.warn?.(`warning: could not renew the Lease ${name} in namespace ${namespace}: ${(err as Error).message.split('\n')[0]}`);
      warned = true;
    }
  };
  // A renewal under way when the step ends must not write after it: it could renew a lease
  // that someone has since taken over, or that expired, in the holder's name.
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(renew);
  }, opts.renewMs ?? (LEASE_SECONDS * 1000) / 3);
  timer.unref();
  const stop = async () => {
    clearInterval(timer);
    await renewing;
  };
  return {
    stop,
    release: async () => {
      await stop();
      const current = await api.readNamespacedLease({ name, namespace }).catch(() => null);
      // Only a lease still ours is freed; the namespace may be gone with the release (cleanup).
      if (current?.spec?.holderIdentity !== identity) return;
      await api.replaceNamespacedLease({ name, namespace, body: { ...current, spec: { ...current.spec, holderIdentity: undefined } } }).catch(() => undefined);
    },
  };
}
