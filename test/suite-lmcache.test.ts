// The lmcache suite, sized from the engine's own KV capacity: it passes
// when what the node's configuration says about LMCache is what the engines
// do, and fails both ways when it is not: LMCache configured but the engines
// do not offload, and engines that offload although it is configured off.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { outline, runSuite, testStack, type TestStack } from './support/suite-stack.js';

// The GPU tier and batch of the local defconfig with offloading (192 blocks × 16 tokens, 32
// sequences): a batch that large would size prompts below a block or two, which the cache
// tiers cannot hold whole; the suite must still find the offload tier.
let offloading: TestStack;
let plain: TestStack;
before(async () => {
  const sizes = { kvBlocks: 192, replicas: 1, maxNumSeqs: 32 };
  [offloading, plain] = await Promise.all([testStack({ lmcache: true, ...sizes }), testStack({ lmcache: false, ...sizes })]);
});
after(async () => {
  await offloading?.stop();
  await plain?.stop();
});

test('with LMCache on, returning users hit the offload tier and get a faster TTFT', { timeout: 60_000 }, async () => {
  const r = await runSuite(offloading.stack, offloading.expect, 'lmcache');
  assert.equal(r.status, 'passed', outline(r));
  const back = r.cases[1]?.measured ?? {};
  assert.ok((back.offload_hit_tokens as number) > 0 && (back.ttft_ratio as number) < 0.7, JSON.stringify(back));
});

test('with LMCache off, returning users recompute: no offload hits, cold TTFT again', { timeout: 60_000 }, async () => {
  const r = await runSuite(plain.stack, plain.expect, 'lmcache');
  assert.equal(r.status, 'passed', outline(r));
  assert.equal(r.cases[1]?.name, 'returning users recompute (no LMCache)');
});

test('lmcache fails when the node is configured with LMCache but its engines do not offload', { timeout: 60_000 }, async () => {
  const r = await runSuite(plain.stack, { ...plain.expect, lmcacheEnabled: true }, 'lmcache');
  assert.equal(r.status, 'failed');
  assert.match(r.cases[1]?.reason ?? '', /came from the offload tier .*LMCache is not offloading.*offload hits do not make the prefill faster/);
});

test('lmcache fails when the engines offload although the node is configured without LMCache', { timeout: 60_000 }, async () => {
  const r = await runSuite(offloading.stack, { ...offloading.expect, lmcacheEnabled: false }, 'lmcache');
  assert.equal(r.status, 'failed');
  assert.match(r.cases[1]?.reason ?? '', /tokens came from an offload tier although LMCache is off on this node/);
});
