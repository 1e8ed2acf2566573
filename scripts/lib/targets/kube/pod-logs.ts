// A Kubernetes run's logs: what each of the release's pods (engines, router)
// wrote since the run began, read through the API (pods/log), one file per
// container, so results/<run>/<node>/logs/ holds them as it holds the local
// processes' logs. Pods replaced during the run (the faults suite) are gone
// with their logs: their replacements' are kept.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ReleaseNames } from '../../helm/names.js';
import { writeFileAtomic } from '../../atomic-write.js';
import { clients } from './cluster.js';
import { selector } from './kube-stack.js';

/** Bound on one container's log read, so a chatty engine cannot fill the results. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** The log file of a pod's container: <pod>.log, or <pod>.<container>.log for a pod with several containers. */
export function podLogFile(pod: string, container: string, containers: number): string {
  return containers > 1 ? `${pod}.${container}.log` : `${pod}.log`;
}

/** Writes the release's pod logs since sinceMs into <runDir>/logs/; returns the files written (sorted). */
export async function collectPodLogs(kc: KubeConfig, names: ReleaseNames, runDir: string, sinceMs: number, nowMs = Date.now()): Promise<string[]> {
  const { core } = await clients(kc);
  const written: string[] = [];
  const sinceSeconds = Math.max(1, Math.ceil((nowMs - sinceMs) / 1000));
  for (const labels of [names.engineLabels, names.routerLabels]) {
    const pods = await core.listNamespacedPod({ namespace: names.namespace, labelSelector: selector(labels) });
    for (const pod of pods.items) {
      const name = pod.metadata?.name ?? '';
      const containers = (pod.spec?.containers ?? []).map((c) => c.name);
      for (const container of containers) {
        // A container still waiting (image pull, pending) has no log yet (400), a pod just gone none (404): nothing to keep.
        const text = await core.readNamespacedPodLog({ name, namespace: names.namespace, container, sinceSeconds, limitBytes: MAX_LOG_BYTES }).catch((err: { code?: number }) => {
          if (err.code === 400 || err.code === 404) return '';
          throw err;
        });
        if (!text) continue;
        const file = podLogFile(name, container, containers.length);
        await mkdir(join(runDir, 'logs'), { recursive: true });
        await writeFileAtomic(join(runDir, 'logs', file), text);
        written.push(file);
      }
    }
  }
  return written.sort();
}
