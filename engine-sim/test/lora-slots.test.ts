// The LoRA parts without sockets: flags as vLLM reads them, GPU slots and CPU cache as LRU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../src/options.js';
import { expandLoraModules, parseLoraModule, runtimeUpdatingAllowed } from '../src/lora/modules.js';
import { LoraSlots, placementMs } from '../src/lora/slots.js';
import { translateVllmArgs } from '../src/vllm-cli.js';

test('--lora-modules takes name=path and the JSON form, several after one flag, on both command lines', () => {
  assert.deepEqual(parseLoraModule('sql=/a/sql'), { name: 'sql', path: '/a/sql', baseModelName: null });
  assert.deepEqual(parseLoraModule('{"name": "chat", "path": "hf://x/y", "base_model_name": "m"}'), { name: 'chat', path: 'hf://x/y', baseModelName: 'm' });
  assert.throws(() => parseLoraModule('nopath'), /expected name=path/);
  assert.throws(() => parseLoraModule('{"name": "x"}'), /needs a "name".*non-empty "path"/);
  assert.deepEqual(expandLoraModules(['--lora-modules', 'a=1', 'b=2', '--max-loras', '2']), ['--lora-modules', 'a=1', '--lora-modules', 'b=2', '--max-loras', '2']);
  const own = parseOptions(['--enable-lora', '--lora-modules', 'a=1', '{"name":"b","path":"2"}', '--max-loras', '2', '--max-cpu-loras', '3', '--max-lora-rank', '32'], {});
  assert.ok(own !== 'help');
  assert.deepEqual(own.lora.modules.map((m) => m.name), ['a', 'b']);
  assert.deepEqual([own.lora.enabled, own.lora.maxLoras, own.lora.maxCpuLoras, own.lora.maxLoraRank, own.loraRuntimeUpdating], [true, 2, 3, 32, false]);
  const { simArgs, ignored } = translateVllmArgs(['serve', 'm', '--enable-lora', '--lora-modules', 'a=1', 'b=2', '--max-loras', '2', '--max-lora-rank', '64', '--max-cpu-loras', '4']);
  assert.deepEqual(ignored, []);
  const served = parseOptions(simArgs, { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'True' });
  assert.ok(served !== 'help');
  assert.deepEqual([served.lora.modules.length, served.lora.maxLoras, served.lora.maxLoraRank, served.lora.maxCpuLoras, served.loraRuntimeUpdating], [2, 2, 64, 4, true]);
});

test('bad LoRA settings are refused naming the flag, as vLLM refuses them', () => {
  assert.throws(() => parseOptions(['--lora-modules', 'a=1'], {}), /--lora-modules needs --enable-lora/);
  assert.throws(() => parseOptions(['--enable-lora', '--max-lora-rank', '12'], {}), /--max-lora-rank 12: choose one of 1, 8, 16/);
  assert.throws(() => parseOptions(['--enable-lora', '--max-loras', '4', '--max-cpu-loras', '2'], {}), /--max-cpu-loras \(2\) must be at least --max-loras \(4\)/);
  assert.throws(() => parseOptions(['--enable-lora', '--lora-modules', 'a=1', 'a=2'], {}), /names "a" twice/);
  assert.deepEqual(['1', 'true', 'TRUE ', '0', 'yes', ''].map((v) => runtimeUpdatingAllowed({ VLLM_ALLOW_RUNTIME_LORA_UPDATING: v })), [true, true, true, false, false, false]);
});

test('GPU slots: a resident adapter costs nothing, the least recently used free one is swapped out, the CPU cache spares a read', async () => {
  const s = new LoraSlots(2, 3);
  for (const n of ['a', 'b', 'c']) s.preload(n);
  assert.equal(await s.acquire('a'), 'swapped');
  s.release('a');
  assert.equal(await s.acquire('b'), 'swapped');
  s.release('b');
  assert.equal(await s.acquire('a'), 'resident');
  s.release('a');
  assert.equal(await s.acquire('c'), 'swapped', 'c takes b\'s slot: b was used least recently');
  s.release('c');
  assert.deepEqual(s.resident(), ['a', 'c']);
  assert.equal(await s.acquire('d'), 'loaded', 'd was never read: from its path, and it pushes b out of the CPU cache');
  s.release('d');
  assert.equal(await s.acquire('b'), 'loaded');
  s.release('b');
});

test('with every slot held by running requests, a request waits for a slot; giving up leaves the queue clean', async () => {
  const s = new LoraSlots(1, 1);
  assert.equal(await s.acquire('a'), 'loaded');
  let got: string | null = null;
  const waiting = s.acquire('b').then((p) => (got = p));
  const abort = new AbortController();
  const gaveUp = s.acquire('c', abort.signal).catch(() => 'gave up');
  await new Promise((r) => setImmediate(r));
  assert.equal(got, null);
  assert.deepEqual([s.running(), s.waiting()], [['a'], ['b', 'c']]);
  abort.abort();
  assert.equal(await gaveUp, 'gave up');
  s.release('a');
  await waiting;
  assert.equal(got, 'loaded');
  assert.deepEqual([s.running(), s.waiting()], [['b'], []]);
});

test('the swap cost scales with --max-lora-rank and adds the read when the adapter was not cached', () => {
  assert.deepEqual(['resident', 'swapped', 'loaded'].map((p) => placementMs(p as 'resident', 20, 100, 16)), [0, 20, 120]);
  assert.equal(placementMs('swapped', 20, 100, 64), 80);
});
