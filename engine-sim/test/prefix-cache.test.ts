import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockHashes, PrefixCache } from '../src/prefix-cache.js';

const seq = (n: number, start = 0) => Array.from({ length: n }, (_, i) => start + i);

test('block hashes chain: equal prefixes give equal hashes, a change poisons every later block', () => {
  const a = blockHashes(seq(64), 16);
  const b = blockHashes([...seq(32), 999, ...seq(31, 33)], 16);
  assert.equal(a.length, 4);
  assert.deepEqual(b.slice(0, 2), a.slice(0, 2));
  assert.notEqual(b[2], a[2]);
  assert.notEqual(b[3], a[3], 'block 3 has equal tokens but follows a different block');
  assert.equal(blockHashes(seq(47), 16).length, 2, 'only full blocks are hashed');
  assert.ok(a.every((h) => Number.isSafeInteger(h)));
});

test('a cached prefix is matched block by block; misses stop the match', () => {
  const cache = new PrefixCache(100);
  const h = blockHashes(seq(64), 16);
  assert.deepEqual(cache.match(h), { gpuBlocks: 0, offloadBlocks: 0 });
  cache.release(cache.acquire(h.slice(0, 3)));
  assert.deepEqual(cache.match(h), { gpuBlocks: 3, offloadBlocks: 0 });
  assert.deepEqual(cache.match([h[0] as number, 42, h[2] as number]), { gpuBlocks: 1, offloadBlocks: 0 });
});

test('free blocks are evicted least recently used first; pinned blocks never', () => {
  const cache = new PrefixCache(3);
  const [a, b, c, d] = [1, 2, 3, 4];
  const pinnedA = cache.acquire([a]);
  cache.release(cache.acquire([b]));
  cache.release(cache.acquire([c]));
  cache.release(cache.acquire([b])); // b is now more recent than c
  cache.release(cache.acquire([d]));
  assert.equal(cache.has(a), true, 'a is pinned');
  assert.equal(cache.has(c), false, 'c was the least recently used free block');
  assert.equal(cache.has(b), true);
  assert.equal(cache.has(d), true);
  cache.release(pinnedA);
});

test('when every block is pinned, new blocks are computed but not cached', () => {
  const cache = new PrefixCache(2);
  const held = cache.acquire([1, 2]);
  assert.deepEqual(cache.acquire([3]), []);
  assert.equal(cache.stats().used, 2);
  cache.release(held);
  assert.equal(cache.stats().pinned, 0);
});

test('the offload tier keeps evicted blocks, and a hit there is loaded back', () => {
  const cache = new PrefixCache(2, 2);
  cache.release(cache.acquire([1, 2]));
  cache.release(cache.acquire([3, 4]));
  assert.deepEqual(cache.match([1, 2]), { gpuBlocks: 0, offloadBlocks: 2 });
  assert.deepEqual(cache.stats(), { capacity: 2, used: 2, pinned: 0, offloadCapacity: 2, offloadUsed: 2 });
  cache.release(cache.acquire([1, 2]));
  assert.deepEqual(cache.match([1, 2]), { gpuBlocks: 2, offloadBlocks: 0 });
  assert.deepEqual(cache.match([3, 4]), { gpuBlocks: 0, offloadBlocks: 2 });
});

test('the offload tier is bounded too, oldest out first', () => {
  const cache = new PrefixCache(1, 2);
  for (const h of [1, 2, 3, 4]) cache.release(cache.acquire([h]));
  assert.equal(cache.stats().offloadUsed, 2);
  assert.deepEqual(cache.match([1]), { gpuBlocks: 0, offloadBlocks: 0 });
  assert.deepEqual(cache.match([3]), { gpuBlocks: 0, offloadBlocks: 1 });
});

test('capacity must be a positive number of blocks', () => {
  assert.throws(() => new PrefixCache(0), /positive number of blocks/);
});
