import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interTokenMs, jitterFactor, loadMultiplier, prefillMs, seededRandom, type LatencySettings } from '../src/latency.js';
import { parseOptions } from '../src/options.js';
import { parseGenerationRequest } from '../src/request.js';
import { QueueFullError, Scheduler } from '../src/scheduler.js';
import { generate } from '../src/text.js';
import { chatPrompt, tokenize } from '../src/tokenizer.js';

const settings: LatencySettings = { prefillOverhead: 5, prefillTimePerToken: 0.2, offloadTimePerToken: 0.02, interTokenLatency: 10, loadFactor: 2, jitter: 0, timeScale: 1 };
const fixed = () => 0.5;

test('the tokenizer is deterministic and splits words and punctuation', () => {
  assert.deepEqual(tokenize('Hello, world!'), tokenize('Hello, world!'));
  assert.equal(tokenize('Hello, world!').length, 4);
  assert.notDeepEqual(tokenize('hello'), tokenize('world'));
  assert.ok(tokenize('a b c').every((id) => id >= 4 && id < 50_272));
  assert.match(chatPrompt([{ role: 'user', content: 'hi' }]), /<\|user\|>\nhi\n<\|assistant\|>/);
});

test('latency: prefill grows with uncached tokens, offloaded tokens cost less, load slows both', () => {
  assert.equal(prefillMs(settings, 100, 0, 1, 8, fixed), 25);
  assert.equal(prefillMs(settings, 0, 100, 1, 8, fixed), 7);
  assert.equal(loadMultiplier(2, 1, 8), 1);
  assert.equal(loadMultiplier(2, 8, 8), 2);
  assert.equal(loadMultiplier(2, 100, 8), 2, 'clamped at max-num-seqs');
  assert.equal(loadMultiplier(3, 5, 1), 1, 'one sequence at a time cannot be slowed by others');
  assert.equal(interTokenMs(settings, 8, 8, fixed), 20);
  assert.equal(prefillMs({ ...settings, timeScale: 0 }, 1000, 0, 8, 8, fixed), 0);
});

test('jitter is seeded and clamped to [0.3, 1.7]', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 1000 }, () => jitterFactor(2, a));
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => jitterFactor(2, b)));
  assert.ok(xs.every((x) => x >= 0.3 && x <= 1.7));
  assert.equal(jitterFactor(0, a), 1);
});

test('the scheduler runs max-num-seqs at once, queues FIFO, refuses beyond the queue', async () => {
  const s = new Scheduler(1, 2);
  const order: string[] = [];
  await s.admit();
  const b = s.admit().then(() => order.push('b'));
  const c = s.admit().then(() => order.push('c'));
  await assert.rejects(s.admit(), QueueFullError);
  assert.equal(s.running, 1);
  assert.equal(s.waiting, 2);
  s.finish();
  await b;
  s.finish();
  await c;
  assert.deepEqual(order, ['b', 'c']);
  s.finish();
  assert.equal(s.running, 0);
});

test('a request whose client leaves while waiting leaves the queue', async () => {
  const s = new Scheduler(1, 5);
  await s.admit();
  const abort = new AbortController();
  const waiting = s.admit(abort.signal);
  abort.abort();
  await assert.rejects(waiting, /went away/);
  assert.equal(s.waiting, 0);
});

test('generated text is deterministic; ignore_eos gives exactly max_tokens', () => {
  assert.deepEqual(generate(42, 'p', 20, true, null), generate(42, 'p', 20, true, null));
  assert.equal(generate(42, 'p', 20, true, null).tokens.length, 20);
  assert.equal(generate(42, 'p', 20, true, null).finishReason, 'length');
  const eos = generate(42, 'p', 20, false, null);
  assert.ok(eos.tokens.length >= 10 && eos.tokens.length <= 20);
  assert.equal(generate(1, 'x', 5, true, 'say these words back').tokens.join(''), 'say these words back');
});

test('request validation names the offending field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ messages: [] }, /model must be a non-empty string/],
    [{ model: 'm', messages: 'hi' }, /messages must be a non-empty array/],
    [{ model: 'm', messages: [{ role: 1 }] }, /messages\[0\] must be an object with a string role/],
    [{ model: 'm', messages: [{ role: 'user', content: 5 }] }, /messages\[0\]\.content/],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, /max_tokens must be an integer of at least 1/],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: '5' }, /max_tokens must be an integer/],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, /stream must be a boolean/],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }, /n must be 1/],
  ];
  for (const [body, error] of cases) assert.throws(() => parseGenerationRequest('chat', body), error, JSON.stringify(body));
  assert.throws(() => parseGenerationRequest('completion', { model: 'm', prompt: 3 }), /prompt must be a string/);
  const r = parseGenerationRequest('completion', { model: 'm', prompt: 'x', max_completion_tokens: 3, stream: true, stream_options: { include_usage: true } });
  assert.equal(r.maxTokens, 3);
  assert.equal(r.includeUsage, true);
  assert.equal(parseGenerationRequest('completion', { model: 'm', prompt: 'x' }).maxTokens, 16);
});

test('options: vLLM flag names, clear errors for bad values', () => {
  const o = parseOptions(['--port', '0', '--served-model-name', 'a,b', '--no-prefix-caching', '--failure-kinds', '429,reset'], {});
  assert.ok(o !== 'help');
  assert.deepEqual(o.servedModelNames, ['a', 'b']);
  assert.equal(o.prefixCaching, false);
  assert.deepEqual(o.failureKinds, ['429', 'reset']);
  assert.throws(() => parseOptions(['--max-num-seqs', '0'], {}), /--max-num-seqs 0: expected a whole number from 1/);
  assert.throws(() => parseOptions(['--failure-kinds', '418'], {}), /failure kind "418"/);
  assert.throws(() => parseOptions(['--bogus'], {}), /Unknown option/);
  const keyed = parseOptions([], { VLLM_API_KEY: 'k' });
  assert.ok(keyed !== 'help' && keyed.apiKey === 'k');
});
