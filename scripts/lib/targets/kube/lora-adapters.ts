// The release's LoraAdapters after helm: the chart's LoRA controller loads
// each on its engines only once they are ready, and production-stack's
// controller looks again only every 60 s, so helm --wait returns before the
// adapters are there. The deploy is done when every LoraAdapter of the
// release says in its status that it is loaded on as many of the release's
// engines as it asks for (or on every ready one, without replicas).
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';
import { podReady } from './kube-stack.js';
import { listReleaseLoraAdapters, releaseSelector, type LoraAdapterObject } from './lora-adapter-api.js';

/** Three of production-stack's controller's 60 s retries. */
export const LORA_LOAD_BOUND_S = 180;
const POLL_MS = 1_000;
const PROGRESS_EVERY_MS = 5_000;

export interface AdapterState {
  name: string;
  adapter: string;
  /** Loaded on this many of the release's own ready engine pods. */
  loaded: number;
  wanted: number;
  /** What the controller says while it is not there (its conditions), or '' before it wrote any status. */
  note: string;
}

/** A ready engine pod of the release, as the wait sees it. */
export interface EnginePod {
  namespace: string;
  name: string;
  /** Its `model` label: the modelSpec's name, which an adapter's baseModel names. */
  model: string;
}

/**
 * Each adapter's loaded count against what it asks for. Only the release's own ready pods count: production-stack's
 * controller lists where an adapter is loaded by its name on every pod of the cluster, so another release's adapter of
 * the same name shows up in this one's status (and the two controllers unload each other's): said in the note.
 */
export function adapterStates(items: LoraAdapterObject[], pods: EnginePod[]): AdapterState[] {
  const own = new Set(pods.map((p) => `${p.namespace}/${p.name}`));
  return items.map((a) => {
    const replicas = a.spec?.loraAdapterDeploymentConfig?.replicas;
    const available = pods.filter((p) => p.model === (a.spec?.baseModel ?? '')).length;
    const at = (a.status?.loadedAdapters ?? []).map((l) => `${l.podAssignments?.namespace ?? ''}/${l.podAssignments?.podName ?? ''}`);
    const foreign = at.filter((k) => !own.has(k));
    return {
      name: a.metadata?.name ?? '',
      adapter: a.spec?.adapterSource?.adapterName ?? '',
      loaded: at.length - foreign.length,
      wanted: replicas === undefined ? available : Math.min(replicas, available),
      note: [
        ...(a.status?.conditions ?? []).map((c) => `${c.type}: ${c.message}`), ...(a.status?.message ? [a.status.message] : []),
        ...(foreign.length > 0 ? [`also loaded on ${foreign.join(', ')}, outside this release: another LoraAdapter in the cluster names this adapter, and production-stack's controller then unloads each one's from the other's pods`] : []),
      ].join('; '),
    };
  });
}

export async function waitLoraAdapters(kc: KubeConfig, names: ReleaseNames, progress: (line: string) => void, boundS = LORA_LOAD_BOUND_S): Promise<AdapterState[]> {
  const k8s = await kubeClient();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + boundS * 1000;
  let shown = 0;
  for (;;) {
    const adapters = await listReleaseLoraAdapters(custom, names);
    const pods = (await core.listNamespacedPod({ namespace: names.namespace, labelSelector: releaseSelector(names) })).items.filter(podReady);
    const states = adapterStates(adapters, pods.map((p) => ({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', model: p.metadata?.labels?.model ?? '' })));
    const missing = states.filter((s) => s.wanted === 0 || s.loaded < s.wanted);
    if (missing.length === 0) {
      if (states.length > 0) progress(`${names.release}: the LoRA controller loaded ${states.map((s) => `${s.adapter} on ${s.loaded}`).join(', ')} engine(s)`);
      return states;
    }
    if (Date.now() > deadline) {
      throw new Error(`${names.release}: the chart's LoRA controller did not load every adapter within ${boundS} s of the release being ready:\n${missing.map((s) => `  ❌ LoraAdapter ${s.name} (${s.adapter}): loaded on ${s.loaded} of ${s.wanted} engine(s)${s.note ? ` — ${s.note}` : ''}`).join('\n')}\n  → kubectl -n ${names.namespace} logs deploy/${names.release}-lora-controller; kubectl -n ${names.namespace} get loraadapters -o yaml`);
    }
    if (Date.now() - shown >= PROGRESS_EVERY_MS) {
      shown = Date.now();
      progress(`${names.release}: waiting for the LoRA controller: ${states.length - missing.length}/${states.length} adapters loaded (${missing.map((s) => `${s.adapter} ${s.loaded}/${s.wanted}`).join(', ')})`);
    }
    await sleep(POLL_MS);
  }
}
