// After helm, the deploy waits for the chart's LoRA controller: an adapter
// counts as there when its status lists as many of the release's own ready
// pods as it asks for (capped by the ready engine pods of its base model);
// with no ready pod it is still missing, and what the controller said comes
// with it. Pods of another release in its status do not count, and are named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adapterStates, type EnginePod } from '../scripts/lib/targets/kube/lora-adapters.js';

const NS = 'vllm-system';
const PODS: EnginePod[] = [{ namespace: NS, name: 'engine-a', model: 'opt-125m' }, { namespace: NS, name: 'engine-b', model: 'opt-125m' }];

const adapter = (name: string, replicas: number | undefined, on: string[], conditions: { type: string; message: string }[] = []) => ({
  metadata: { name: `vllm-baseline-${name}` },
  spec: { baseModel: 'opt-125m', adapterSource: { adapterName: name }, ...(replicas === undefined ? {} : { loraAdapterDeploymentConfig: { replicas } }) },
  status: { loadedAdapters: on.map((podName) => ({ podAssignments: { namespace: NS, podName } })), conditions },
});

test('LoRA adapters loaded against what each asks for: replicas capped by the ready pods of its base model, all of them without replicas; the controller\'s conditions kept', () => {
  const states = adapterStates([adapter('sql', 1, ['engine-a']), adapter('chat', 2, ['engine-b']), adapter('code', 5, ['engine-a', 'engine-b']), adapter('math', undefined, ['engine-a', 'engine-b'])], PODS);
  assert.deepEqual(states.map((s) => `${s.adapter} ${s.loaded}/${s.wanted}`), ['sql 1/1', 'chat 1/2', 'code 2/2', 'math 2/2']);
  const waiting = adapterStates([adapter('sql', 1, [], [{ type: 'WaitingForPods', message: 'Waiting for pods to become ready' }])], []);
  assert.deepEqual(waiting.map((s) => [s.wanted, s.note]), [[0, 'WaitingForPods: Waiting for pods to become ready']], 'no ready pod: wanted 0, which the wait counts as missing');
});

test('an adapter listed on another release\'s pods (production-stack\'s controller finds adapters by name cluster-wide) is not loaded here, and the note says where it is', () => {
  const [state] = adapterStates([adapter('a1', 1, ['vllm-dev-engine-x'])], PODS);
  assert.equal(`${state?.loaded}/${state?.wanted}`, '0/1');
  assert.match(state?.note ?? '', /also loaded on vllm-system\/vllm-dev-engine-x, outside this release: another LoraAdapter in the cluster names this adapter/);
});
