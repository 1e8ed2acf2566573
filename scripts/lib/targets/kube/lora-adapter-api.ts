// The chart's LoraAdapter custom resources (production-stack.vllm.ai/v1alpha1)
// of one release, as the deploy's wait and teardown read them through
// @kubernetes/client-node.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { ReleaseNames } from '../../helm/names.js';

export const LORA_ADAPTERS = { group: 'production-stack.vllm.ai', version: 'v1alpha1', plural: 'loraadapters' } as const;

/** The label helm's chart puts on each object of a release, LoraAdapters and the LoRA controller's pods included. */
export const releaseSelector = (names: ReleaseNames) => `helm-release-name=${names.release}`;

/** As much of a LoraAdapter as the harness reads. */
export interface LoraAdapterObject {
  metadata?: { name?: string; deletionTimestamp?: unknown; finalizers?: string[] };
  spec?: { baseModel?: string; adapterSource?: { adapterName?: string }; loraAdapterDeploymentConfig?: { replicas?: number } };
  status?: { loadedAdapters?: { podAssignments?: { namespace?: string; podName?: string } }[]; conditions?: { type?: string; message?: string }[]; message?: string };
}

/** The release's LoraAdapters; rejects as client-node does (404 when the cluster has no LoraAdapter CRD). */
export async function listReleaseLoraAdapters(custom: CustomObjectsApi, names: ReleaseNames): Promise<LoraAdapterObject[]> {
  const list = await custom.listNamespacedCustomObject({ ...LORA_ADAPTERS, namespace: names.namespace, labelSelector: releaseSelector(names) });
  return (list as { items: LoraAdapterObject[] }).items;
}
