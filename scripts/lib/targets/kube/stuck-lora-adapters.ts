// The release's LoraAdapters during helm uninstall. Each carries the chart's
// LoRA controller's finalizer, which only that controller removes (after
// unloading the adapter). helm deletes custom resources last, after the
// controller's Deployment and its RBAC, so the adapters stay Terminating for
// ever, helm uninstall --wait waits for them until its timeout, and a later
// `make vllm` of the release meets them. As an operator would: once no pod of
// the release's controller is left, remove its finalizer from the adapters it
// left, saying which and why.
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';
import { listReleaseLoraAdapters, LORA_ADAPTERS, releaseSelector, type LoraAdapterObject } from './lora-adapter-api.js';

/** The finalizer production-stack's loraadapter_controller.go puts on each LoraAdapter. */
export const LORA_FINALIZER = 'loraadapter.production-stack.vllm.ai/finalizer';
/** How long after helm is done a controller pod still there may take to release its adapters. */
export const LORA_RELEASE_BOUND_S = 30;
const POLL_MS = 500;

/** The adapters only the controller can release: being deleted and still carrying its finalizer. */
export function stuckAdapters(items: LoraAdapterObject[]): string[] {
  return items.filter((a) => a.metadata?.deletionTimestamp && (a.metadata.finalizers ?? []).includes(LORA_FINALIZER)).map((a) => a.metadata?.name ?? '');
}

/**
 * Follows the release's LoraAdapters while `uninstall` (helm) runs and until they are gone:
 * those being deleted with the controller's finalizer while no controller pod of the release is
 * left lose that finalizer. Bounded by helm's own timeout, then boundS more. Returns their names.
 */
export async function releaseStuckLoraAdapters(kc: KubeConfig, names: ReleaseNames, progress: (line: string) => void, uninstall: Promise<unknown>, boundS = LORA_RELEASE_BOUND_S): Promise<string[]> {
  const k8s = await kubeClient();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let deadline = Infinity;
  void uninstall.then(() => (deadline = Date.now() + boundS * 1000), () => (deadline = Date.now() + boundS * 1000));
  const released: string[] = [];
  for (;;) {
    const list = await listReleaseLoraAdapters(custom, names).catch((err: { code?: number }): LoraAdapterObject[] => {
      // No LoraAdapter CRD on the cluster: nothing of the kind to wait for.
      if (err.code === 404) return [];
      throw err;
    });
    const stuck = stuckAdapters(list);
    const helmDone = deadline !== Infinity;
    // Done when none is left, or helm is done and deleted none (its own error says why).
    if (list.length === 0 || (helmDone && !list.some((a) => a.metadata?.deletionTimestamp))) return released;
    const controllers = stuck.length === 0 ? [] : (await core.listNamespacedPod({ namespace: names.namespace, labelSelector: `app.kubernetes.io/component=lora-controller,${releaseSelector(names)}` })).items;
    if (stuck.length > 0 && controllers.length === 0) {
      progress(`${names.release}: LoraAdapter(s) ${stuck.join(', ')} left Terminating: helm uninstalled the LoRA controller, the only one to remove their finalizer ${LORA_FINALIZER}, first; removing it`);
      for (const name of stuck) {
        const finalizers = (list.find((a) => a.metadata?.name === name)?.metadata?.finalizers ?? []).filter((f) => f !== LORA_FINALIZER);
        await custom.patchNamespacedCustomObject({ ...LORA_ADAPTERS, namespace: names.namespace, name, body: [{ op: 'replace', path: '/metadata/finalizers', value: finalizers }] })
          .catch((err: { code?: number }) => { if (err.code !== 404) throw err; });
        released.push(name);
      }
      continue;
    }
    if (Date.now() > deadline) {
      const pods = controllers.map((p) => p.metadata?.name).join(', ');
      throw new Error(`${names.release}: LoraAdapter(s) ${stuck.join(', ') || list.map((a) => a.metadata?.name).join(', ')} still Terminating ${boundS} s after helm uninstall${pods ? `, while the LoRA controller pod ${pods} is still there` : ''}\n  → kubectl -n ${names.namespace} get loraadapters -o yaml${pods ? `; kubectl -n ${names.namespace} logs ${controllers[0]?.metadata?.name}` : ''}; make vllm-teardown again once it is gone`);
    }
    await sleep(POLL_MS);
  }
}
