// After helm, the deploy waits for the chart's LoRA controller: an adapter
// counts as there when its status lists as many loaded pods as it asks for
// (capped by the ready engine pods of its base model); with no ready pod it
// is still missing, and what the controller said comes with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adapterStates } from '../scripts/lib/targets/kube/lora-adapters.js';

const adapter = (name: string, replicas: number | undefined, loaded: number, conditions: { type: string; message: string }[] = []) => ({
  metadata: { name: `vllm-baseline-${name}` },
  spec: { baseModel: 'opt-125m', adapterSource: { adapterName: name }, ...(replicas === undefined ? {} : { loraAdapterDeploymentConfig: { replicas } }) },
  status: { loadedAdapters: Array.from({ length: loaded }, () => ({})), conditions },
});

test('LoRA adapters loaded against what each asks for: replicas capped by the ready pods of its base model, all of them without replicas; the controller\'s conditions kept', () => {
  const ready = (model: string) => (model === 'opt-125m' ? 2 : 0);
  const states = adapterStates([adapter('sql', 1, 1), adapter('chat', 2, 1), adapter('code', 5, 2), adapter('math', undefined, 2)], ready);
  assert.deepEqual(states.map((s) => `${s.adapter} ${s.loaded}/${s.wanted}`), ['sql 1/1', 'chat 1/2', 'code 2/2', 'math 2/2']);
  const waiting = adapterStates([adapter('sql', 1, 0, [{ type: 'WaitingForPods', message: 'Waiting for pods to become ready' }])], () => 0);
  assert.deepEqual(waiting.map((s) => [s.wanted, s.note]), [[0, 'WaitingForPods: Waiting for pods to become ready']], 'no ready pod: wanted 0, which the wait counts as missing');
});
