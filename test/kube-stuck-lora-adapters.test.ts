// Teardown on Kubernetes: helm uninstall deletes the LoRA controller before
// the LoraAdapters it alone releases, which then stay Terminating (the API
// test server keeps objects with finalizers, as a real one). The harness
// removes the controller's finalizer from its release's adapters once no
// controller pod of the release is left, and only then.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { ReleaseNames } from '../scripts/lib/helm/names.js';
import { LORA_FINALIZER, releaseStuckLoraAdapters, stuckAdapters } from '../scripts/lib/targets/kube/stuck-lora-adapters.js';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';

const NS = 'vllm-system';
const names = { release: 'vllm-baseline', namespace: NS } as ReleaseNames;

const CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'loraadapters.production-stack.vllm.ai' },
  spec: { group: 'production-stack.vllm.ai', scope: 'Namespaced', names: { plural: 'loraadapters', kind: 'LoraAdapter' }, versions: [{ name: 'v1alpha1', served: true, storage: true }] },
};

const adapter = (name: string, release: string, finalizers = [LORA_FINALIZER]): KubeObject => ({
  apiVersion: 'production-stack.vllm.ai/v1alpha1', kind: 'LoraAdapter',
  metadata: { name, namespace: NS, labels: { 'helm-release-name': release }, finalizers },
  spec: { baseModel: 'opt-125m', adapterSource: { type: 'local', adapterName: name } },
});

async function cluster(t: { after: (fn: () => unknown) => void }): Promise<{ server: KubeApiServer; kc: k8s.KubeConfig }> {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  server.put(CRD);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  return { server, kc };
}

test('stuck adapters: being deleted and carrying the controller\'s finalizer', () => {
  const at = '2026-01-01T00:00:00Z';
  assert.deepEqual(stuckAdapters([
    { metadata: { name: 'a', deletionTimestamp: at, finalizers: [LORA_FINALIZER] } },
    { metadata: { name: 'not-deleted', finalizers: [LORA_FINALIZER] } },
    { metadata: { name: 'other-finalizer', deletionTimestamp: at, finalizers: ['example.com/x'] } },
  ]), ['a']);
});

test('after helm uninstall, the release\'s LoraAdapters left Terminating by the gone controller lose its finalizer and go; other releases\' are left alone', async (t) => {
  const { server, kc } = await cluster(t);
  server.put(adapter('vllm-baseline-sql', 'vllm-baseline'));
  server.put(adapter('vllm-baseline-chat', 'vllm-baseline', [LORA_FINALIZER, 'example.com/keep']));
  server.put(adapter('vllm-dev-sql', 'vllm-dev'));
  for (const name of ['vllm-baseline-sql', 'vllm-baseline-chat', 'vllm-dev-sql']) server.remove('LoraAdapter', NS, name);
  assert.ok(server.get('LoraAdapter', NS, 'vllm-baseline-sql')?.metadata.deletionTimestamp, 'Terminating, as on a real cluster');

  const lines: string[] = [];
  // Another finalizer on chat keeps it Terminating: that is reported, not removed.
  await assert.rejects(releaseStuckLoraAdapters(kc, names, (l) => lines.push(l), Promise.resolve(), 0), /LoraAdapter\(s\) vllm-baseline-chat still Terminating 0 s after helm uninstall/);
  assert.equal(server.get('LoraAdapter', NS, 'vllm-baseline-sql'), undefined, 'released, then removed by the API server');
  assert.deepEqual(server.get('LoraAdapter', NS, 'vllm-baseline-chat')?.metadata.finalizers, ['example.com/keep'], 'only the controller\'s finalizer removed');
  assert.deepEqual(server.get('LoraAdapter', NS, 'vllm-dev-sql')?.metadata.finalizers, [LORA_FINALIZER], 'another release is not touched');
  assert.match(lines.join('\n'), /vllm-baseline: LoraAdapter\(s\) vllm-baseline-chat, vllm-baseline-sql left Terminating: helm uninstalled the LoRA controller, the only one to remove their finalizer loraadapter\.production-stack\.vllm\.ai\/finalizer, first; removing it/);
});

test('while a controller pod of the release is there, its adapters are left to it; with none left when helm is done, they are released', async (t) => {
  const { server, kc } = await cluster(t);
  server.put(adapter('vllm-baseline-sql', 'vllm-baseline'));
  server.remove('LoraAdapter', NS, 'vllm-baseline-sql');
  server.addPod(NS, 'vllm-baseline-lora-controller-abc', { 'app.kubernetes.io/component': 'lora-controller', 'helm-release-name': 'vllm-baseline' }, '127.0.0.2');
  await assert.rejects(releaseStuckLoraAdapters(kc, names, () => undefined, Promise.resolve(), 0), /still Terminating 0 s after helm uninstall, while the LoRA controller pod vllm-baseline-lora-controller-abc is still there/);
  assert.ok(server.get('LoraAdapter', NS, 'vllm-baseline-sql'), 'not touched while its controller may still release it');

  // helm still running: the adapter waits; the controller pod goes, then it is released and helm's wait can end.
  let helmDone: () => void = () => undefined;
  const helm = new Promise<void>((resolve) => { helmDone = resolve; });
  const released = releaseStuckLoraAdapters(kc, names, () => undefined, helm, 0);
  server.deletePod(NS, 'vllm-baseline-lora-controller-abc', 0);
  assert.deepEqual(await released, ['vllm-baseline-sql']);
  helmDone();
  assert.equal(server.get('LoraAdapter', NS, 'vllm-baseline-sql'), undefined);
});

test('nothing to do: no LoraAdapter CRD, no adapter, or helm done without deleting them', async (t) => {
  const server = await KubeApiServer.start();
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  assert.deepEqual(await releaseStuckLoraAdapters(kc, names, () => undefined, Promise.resolve(), 0), [], 'no CRD');
  server.put(CRD);
  assert.deepEqual(await releaseStuckLoraAdapters(kc, names, () => undefined, new Promise(() => undefined), 0), [], 'no adapter, even while helm runs');
  server.put(adapter('vllm-baseline-sql', 'vllm-baseline'));
  assert.deepEqual(await releaseStuckLoraAdapters(kc, names, () => undefined, Promise.resolve(), 0), [], 'helm failed before deleting it: its error says why');
  assert.equal(server.get('LoraAdapter', NS, 'vllm-baseline-sql')?.metadata.deletionTimestamp, undefined);
});
