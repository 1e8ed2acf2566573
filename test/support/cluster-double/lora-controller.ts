#!/usr/bin/env node
// A stand-in of production-stack's LoRA controller (the chart's
// loraController, image lmcache/lmstack-lora-controller), which the cluster
// double cannot run (a Go image): it runs as that pod's process (images.ts)
// and does what operator/internal/controller/loraadapter_controller.go does
// for each LoraAdapter, in every namespace:
//   - adds its finalizer;
//   - reads where the adapter is loaded: every ready pod with a `model` label
//     whose own /v1/models lists the adapter with a parent;
//   - places it on the first `replicas` ready pods (by name) whose `model`
//     label is spec.baseModel (all of them without replicas); with none
//     ready, writes a WaitingForPods condition and tries again later;
//   - loads it where missing (POST /v1/load_lora_adapter {lora_name,
//     lora_path}: adapterPath; a 400 "has already been loaded" is success),
//     unloads it where not placed (POST /v1/unload_lora_adapter), bumping
//     the pod's `lora-modified` annotation after each (the pod event that
//     makes a router re-read the pod), with the API key of spec.vllmApiKey;
//   - writes status.loadedAdapters and observedGeneration;
//   - when the adapter is being deleted, unloads it wherever it is loaded and
//     removes its finalizer (the API server then removes the adapter).
// It reconciles an adapter when it is added or its spec changes, and each
// adapter again 60 s after (scaled by CLUSTER_DOUBLE_TIME_SCALE, as the
// double scales the kubelet's probes). It serves /healthz and /readyz at
// --health-probe-bind-address. Not modelled: leader election (one replica),
// Hugging Face, S3 and HTTP sources (the real one downloads through a
// sidecar; here they fail as its unimplemented ones do), metrics.
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';

const GROUP = 'production-stack.vllm.ai';
const VERSION = 'v1alpha1';
const PLURAL = 'loraadapters';
const FINALIZER = 'loraadapter.production-stack.vllm.ai/finalizer';
const REQUEUE_MS = 60_000 * Number(process.env.CLUSTER_DOUBLE_TIME_SCALE ?? '1');

interface LoraAdapter {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string; namespace: string };
  spec: {
    baseModel: string;
    vllmApiKey?: { secretName: string; secretKey: string };
    adapterSource: { type: string; adapterName: string; adapterPath?: string };
    loraAdapterDeploymentConfig?: { algorithm?: string; replicas?: number };
  };
  status?: Record<string, unknown>;
}

interface Loaded { name: string; path: string; loadTime?: string; podAssignments: { namespace: string; podName: string }; status: string }

const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} lora-controller (stand-in): ${msg}\n`);

const ready = (p: k8s.V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const key = (a: { metadata: { namespace?: string; name?: string } }) => `${a.metadata.namespace}/${a.metadata.name}`;

function endpoint(pod: k8s.V1Pod, path: string): string {
  const port = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'container-port')?.containerPort ?? 8000;
  return `http://${pod.status?.podIP}:${port}${path}`;
}

async function apiKey(a: LoraAdapter): Promise<string> {
  const ref = a.spec.vllmApiKey;
  if (!ref?.secretName || !ref.secretKey) return '';
  const secret = await core.readNamespacedSecret({ name: ref.secretName, namespace: a.metadata.namespace });
  const value = secret.data?.[ref.secretKey];
  if (value === undefined) throw new Error(`secret does not contain key ${ref.secretKey}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

async function send(a: LoraAdapter, method: 'GET' | 'POST', url: string, payload?: Record<string, string>): Promise<unknown> {
  const key = await apiKey(a);
  const res = await fetch(url, {
    method, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    ...(payload ? { body: JSON.stringify(payload) } : {}), signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status === 400) {
    const err = JSON.parse(text) as { message?: string; type?: string };
    if (err.type === 'InvalidUserInput' && err.message?.includes('has already been loaded')) return null;
  }
  if (res.status !== 200) throw new Error(`unexpected status code: ${res.status}, body: ${text}`);
  return text === '' ? null : JSON.parse(text);
}

/** Where the adapter is loaded now: ready pods with a model label whose own model list has it, with a parent. */
async function registrations(a: LoraAdapter): Promise<Loaded[]> {
  const pods = (await core.listPodForAllNamespaces({ labelSelector: 'model' })).items.filter(ready);
  const out: Loaded[] = [];
  for (const pod of pods) {
    const models = await send(a, 'GET', endpoint(pod, '/v1/models')).catch(() => null) as { data?: { id: string; root?: string; created?: number; parent?: string | null }[] } | null;
    for (const m of models?.data ?? []) {
      if (m.parent === undefined || m.parent === null || m.id !== a.spec.adapterSource.adapterName) continue;
      out.push({
        name: m.id, path: m.root ?? '', status: 'Loaded', podAssignments: { namespace: pod.metadata?.namespace ?? '', podName: pod.metadata?.name ?? '' },
        ...(m.created !== undefined ? { loadTime: new Date(m.created * 1000).toISOString() } : {}),
      });
    }
  }
  return out;
}

async function placements(a: LoraAdapter): Promise<k8s.V1Pod[]> {
  const pods = (await core.listPodForAllNamespaces({ labelSelector: `model=${a.spec.baseModel}` })).items.filter(ready)
    .sort((x, y) => (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''));
  const replicas = a.spec.loraAdapterDeploymentConfig?.replicas;
  return replicas !== undefined && replicas >= 0 ? pods.slice(0, replicas) : pods;
}

async function touchPod(namespace: string, name: string): Promise<void> {
  const pod = await core.readNamespacedPod({ name, namespace });
  pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, 'lora-modified': new Date().toISOString() } };
  await core.replaceNamespacedPod({ name, namespace, body: pod });
}

async function writeStatus(a: LoraAdapter, status: (s: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const latest = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: a.metadata.namespace, plural: PLURAL, name: a.metadata.name }) as LoraAdapter;
    latest.status = { ...status(latest.status ?? {}), observedGeneration: latest.metadata.generation ?? 1 };
    try {
      await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: a.metadata.namespace, plural: PLURAL, name: a.metadata.name, body: latest });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 2) throw err;
      await sleep(1000 * (attempt + 1));
    }
  }
}

const withoutWaiting = (s: Record<string, unknown>) => ((s.conditions ?? []) as { type: string }[]).filter((c) => c.type !== 'WaitingForPods');

/** A LoraAdapter being deleted: unloaded wherever it is loaded (best effort: a pod may be going too), then its finalizer removed. */
async function finalize(a: LoraAdapter): Promise<void> {
  if (!(a.metadata.finalizers ?? []).includes(FINALIZER)) return;
  for (const r of await registrations(a).catch(() => [])) {
    try {
      const pod = await core.readNamespacedPod({ name: r.podAssignments.podName, namespace: r.podAssignments.namespace });
      await send(a, 'POST', endpoint(pod, '/v1/unload_lora_adapter'), { lora_name: a.spec.adapterSource.adapterName });
      log(`${key(a)}: unloaded ${r.name} from ${r.podAssignments.podName}, the adapter being deleted`);
    } catch (err) {
      log(`${key(a)}: could not unload ${r.name} from ${r.podAssignments.podName}: ${(err as Error).message}`);
    }
  }
  const latest = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: a.metadata.namespace, plural: PLURAL, name: a.metadata.name }) as LoraAdapter;
  latest.metadata.finalizers = (latest.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: a.metadata.namespace, plural: PLURAL, name: a.metadata.name, body: latest });
  log(`${key(a)}: finalizer removed`);
}

async function reconcile(a: LoraAdapter): Promise<void> {
  if (a.metadata.deletionTimestamp) return finalize(a);
  if (!(a.metadata.finalizers ?? []).includes(FINALIZER)) {
    a.metadata.finalizers = [...(a.metadata.finalizers ?? []), FINALIZER];
    a = await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: a.metadata.namespace, plural: PLURAL, name: a.metadata.name, body: a }) as LoraAdapter;
  }
  const current = await registrations(a);
  await writeStatus(a, (s) => ({ ...s, loadedAdapters: current, conditions: withoutWaiting(s) }));
  const desired = await placements(a);
  if (desired.length === 0) {
    log(`${key(a)}: no pod with model=${a.spec.baseModel} is ready yet; again in ${REQUEUE_MS / 1000} s`);
    await writeStatus(a, (s) => ({
      ...s, loadedAdapters: [],
      conditions: [...withoutWaiting(s), { type: 'WaitingForPods', status: 'True', reason: 'NoReadyPods', message: 'Waiting for pods to become ready', lastTransitionTime: new Date().toISOString() }],
    }));
    return;
  }
  const at = (ns: string | undefined, name: string | undefined) => `${ns}/${name}`;
  const have = new Set(current.map((r) => at(r.podAssignments.namespace, r.podAssignments.podName)));
  const want = new Set(desired.map((p) => at(p.metadata?.namespace, p.metadata?.name)));
  if (have.size === want.size && [...have].every((k) => want.has(k))) return;
  for (const pod of desired.filter((p) => !have.has(at(p.metadata?.namespace, p.metadata?.name)))) {
    const source = a.spec.adapterSource;
    if (!source.adapterPath) throw new Error(`${source.type} adapter source: only local adapters with adapterPath are loaded by this stand-in`);
    await send(a, 'POST', endpoint(pod, '/v1/load_lora_adapter'), { lora_name: source.adapterName, lora_path: source.adapterPath });
    log(`${key(a)}: loaded ${source.adapterName} on ${pod.metadata?.name}`);
    await touchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
  }
  for (const r of current.filter((x) => !want.has(at(x.podAssignments.namespace, x.podAssignments.podName)))) {
    const pod = await core.readNamespacedPod({ name: r.podAssignments.podName, namespace: r.podAssignments.namespace });
    await send(a, 'POST', endpoint(pod, '/v1/unload_lora_adapter'), { lora_name: a.spec.adapterSource.adapterName });
    log(`${key(a)}: unloaded ${r.name} from ${r.podAssignments.podName}`);
    await touchPod(r.podAssignments.namespace, r.podAssignments.podName);
  }
  const latest = await registrations(a);
  await writeStatus(a, (s) => ({ ...s, loadedAdapters: latest, conditions: withoutWaiting(s) }));
}

/** One reconcile at a time per adapter; a failure is logged and tried again at the next requeue, as controller-runtime does. */
const running = new Map<string, Promise<void>>();
function enqueue(a: LoraAdapter): void {
  const k = key(a);
  const previous = running.get(k) ?? Promise.resolve();
  const next = previous.then(() => reconcile(a)).catch((err: Error) => {
    log(`${k}: ${err.message}`);
  });
  running.set(k, next);
}

async function all(): Promise<LoraAdapter[]> {
  return ((await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: LoraAdapter[] }).items;
}

function watch(): void {
  const specs = new Map<string, string>();
  void new k8s.Watch(kc).watch(`/apis/${GROUP}/${VERSION}/${PLURAL}`, {}, (type: string, a: LoraAdapter) => {
    const spec = JSON.stringify(a.spec);
    // Status and finalizer writes are not spec changes: as the real controller's predicate, only a new spec (or a deletion) reconciles.
    if (type === 'ADDED' || (type === 'MODIFIED' && (specs.get(key(a)) !== spec || a.metadata.deletionTimestamp))) enqueue(a);
    if (type === 'DELETED') specs.delete(key(a));
    else specs.set(key(a), spec);
  }, () => setTimeout(watch, 1000)).catch(() => setTimeout(watch, 1000));
}

const probe = /^--health-probe-bind-address=(.*):(\d+)$/.exec(process.argv.slice(2).find((a) => a.startsWith('--health-probe-bind-address=')) ?? '');
createServer((req, res) => res.writeHead(req.url === '/healthz' || req.url === '/readyz' ? 200 : 404).end('ok')).listen(Number(probe?.[2] ?? 8081));
log(`watching ${PLURAL}.${GROUP} in every namespace; requeue every ${REQUEUE_MS / 1000} s`);
watch();
for (;;) {
  await sleep(REQUEUE_MS);
  for (const a of await all().catch(() => [])) enqueue(a);
}
