import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PdMixParams } from '../scripts/lib/config/bench-settings.js';
import { pdMixRequest } from '../scripts/lib/bench/pd-mix.js';
import { Random } from '../scripts/lib/random.js';

const P: PdMixParams = { requestRate: 4, longShare: 0.2, longInputLen: 1200, longOutputLen: 200, shortInputLen: 32, shortOutputLen: 64 };

test('the P/D mix draws long completions and short chats in the configured share, the same sequence from the same seed', () => {
  const rng = new Random(7);
  const a = Array.from({ length: 2000 }, (_, i) => pdMixRequest(rng, i, P));
  const again = new Random(7);
  assert.deepEqual(Array.from({ length: 2000 }, (_, i) => pdMixRequest(again, i, P)), a, 'baseline and dev send the same requests');
  const long = a.filter((r) => r.path === '/v1/completions');
  assert.ok(Math.abs(long.length / a.length - 0.2) < 0.03, `${long.length} long of ${a.length}`);
  const first = long[0]?.body as { prompt: string; max_tokens: number; ignore_eos: boolean };
  assert.equal(first.prompt.split(' ').length, 1200);
  assert.equal(first.max_tokens, 200);
  assert.equal(first.ignore_eos, true);
  const chat = a.find((r) => r.path === '/v1/chat/completions')?.body as { messages: { content: string }[]; max_tokens: number };
  assert.equal(chat.messages[0]?.content.split(' ').length, 32);
  assert.equal(chat.max_tokens, 64);
});
