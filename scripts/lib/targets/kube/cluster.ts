// What the deploy does to a cluster besides helm: the namespace and the
// Secrets the values only name (API key, HF token, Grafana's admin password),
// progress of the Deployments, and what to show when pods do not come up.
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, AppsV1Api, KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';

export interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export async function clients(kc: KubeConfig): Promise<Clients> {
  const k8s = await kubeClient();
  return { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

const notFound = (err: unknown) => (err as { code?: number }).code === 404;
const alreadyExists = (err: unknown) => (err as { code?: number }).code === 409;

export async function ensureNamespace(c: Clients, namespace: string): Promise<boolean> {
  try {
    await c.core.readNamespace({ name: namespace });
    return false;
  } catch (err) {
    if (!notFound(err)) throw err;
    try {
      await c.core.createNamespace({ body: { metadata: { name: namespace } } });
      return true;
    } catch (createErr) {
      // A/B nodes deploy at once into one namespace: the other one created it first.
      if (alreadyExists(createErr)) return false;
      throw createErr;
    }
  }
}

async function putSecret(c: Clients, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const body: V1Secret = { metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'vllm-stack-harness' } }, type: 'Opaque', stringData: data };
  try {
    await c.core.readNamespacedSecret({ name, namespace });
    await c.core.replaceNamespacedSecret({ name, namespace, body });
  } catch (err) {
    if (!notFound(err)) throw err;
    await c.core.createNamespacedSecret({ namespace, body });
  }
}

/** The API key and HF token as the Secret the values name; nothing when neither is set. */
export async function applySecrets(c: Clients, names: ReleaseNames, secrets: { apiKey?: string; hfToken?: string }): Promise<string[]> {
  const data: Record<string, string> = {};
  if (secrets.apiKey) data.vllmApiKey = secrets.apiKey;
  if (secrets.hfToken) data.hfToken = secrets.hfToken;
  if (Object.keys(data).length === 0) return [];
  await putSecret(c, names.namespace, names.secrets, data);
  return Object.keys(data);
}

/** Grafana's admin login, generated once per release (never "admin"); an existing one is kept so a redeploy does not lock users out. */
export async function ensureGrafanaAdmin(c: Clients, names: ReleaseNames): Promise<{ user: string; password: string }> {
  try {
    const existing = await c.core.readNamespacedSecret({ name: names.grafanaAdmin, namespace: names.namespace });
    const decode = (k: string) => Buffer.from(existing.data?.[k] ?? '', 'base64').toString('utf8');
    if (decode('admin-password') !== '') return { user: decode('admin-user'), password: decode('admin-password') };
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  const login = { user: 'vllm-admin', password: randomBytes(18).toString('base64url') };
  await putSecret(c, names.namespace, names.grafanaAdmin, { 'admin-user': login.user, 'admin-password': login.password });
  return login;
}

export interface DeploymentProgress {
  name: string;
  ready: number;
  wanted: number;
}

/** Ready/wanted replicas of the release's Deployments. */
export async function releaseProgress(c: Clients, names: ReleaseNames): Promise<DeploymentProgress[]> {
  const list = await c.apps.listNamespacedDeployment({ namespace: names.namespace, labelSelector: `app.kubernetes.io/instance=${names.release}` });
  return list.items.map((d) => ({ name: d.metadata?.name ?? '', ready: d.status?.readyReplicas ?? 0, wanted: d.spec?.replicas ?? 0 })).sort((a, b) => a.name.localeCompare(b.name));
}

export function formatProgress(release: string, p: DeploymentProgress[]): string {
  return `${release}: ${p.length === 0 ? 'no Deployment yet' : p.map((d) => `${d.name.replace(`${release}-`, '')} ${d.ready}/${d.wanted} ready`).join(', ')}`;
}

/** For each pod of the release that is not ready: its recent events and last log lines. */
export async function failureReport(c: Clients, names: ReleaseNames, logLines = 40): Promise<string> {
  const pods = await c.core.listNamespacedPod({ namespace: names.namespace, labelSelector: `app.kubernetes.io/instance=${names.release}` });
  const events = await c.core.listNamespacedEvent({ namespace: names.namespace });
  const parts: string[] = [];
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    const ready = (pod.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
    if (ready) continue;
    parts.push(`--- pod ${name} (${pod.status?.phase ?? 'unknown'}, not ready)`);
    for (const e of events.items.filter((x) => x.involvedObject?.name === name).slice(-10)) {
      parts.push(`  event ${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`);
    }
    const log = await c.core.readNamespacedPodLog({ name, namespace: names.namespace, tailLines: logLines }).catch((err: Error) => `(no log: ${err.message.split('\n')[0]})`);
    parts.push(`  last ${logLines} log lines:`, ...String(log).split('\n').filter(Boolean).map((l) => `    ${l}`));
  }
  return parts.length > 0 ? parts.join('\n') : `every pod of ${names.release} is ready`;
}
