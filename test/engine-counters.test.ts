import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterDeltas, parseCounters } from '../scripts/lib/bench/engine-counters.js';
import type { Counters } from '../scripts/lib/vocabulary/bench-result.js';
import type { EngineInfo } from '../scripts/lib/stack/stack-handle.js';

const engine = (id: string): EngineInfo => ({ id, url: `http://127.0.0.1:1/${id}`, metricsUrl: `http://127.0.0.1:1/${id}/metrics`, running: true, role: 'colocated' }) as EngineInfo;
const metrics = (requests?: number, prompt = 0): Counters => parseCounters([
  `vllm:prompt_tokens_total ${prompt}`,
  // A labelled counter: no series until the engine's first finished request.
  ...(requests === undefined ? [] : [`vllm:request_success_total{finished_reason="stop"} ${requests}`]),
].join('\n'));

test('engine counters: a counter absent before the workload (a freshly restarted engine) counts from zero', () => {
  const [row] = counterDeltas([engine('engine-0')], new Map([['engine-0', metrics(undefined, 0)]]), new Map([['engine-0', metrics(12, 300)]]));
  assert.equal(row!.requests, 12);
  assert.equal(row!.prompt_tokens, 300);
});

test('engine counters: a counter lower after than before (a restart during the workload) counts from zero', () => {
  const [row] = counterDeltas([engine('engine-0')], new Map([['engine-0', metrics(40, 900)]]), new Map([['engine-0', metrics(5, 120)]]));
  assert.equal(row!.requests, 5);
  assert.equal(row!.prompt_tokens, 120);
});

test('engine counters: unknown stays unknown (unread engine, a series the engine never has)', () => {
  const rows = counterDeltas([engine('a'), engine('b')], new Map([['a', null], ['b', metrics(1)]]), new Map([['a', metrics(9)], ['b', null]]));
  assert.equal(rows[0]!.requests, null, 'before unread: the base is unknown');
  assert.equal(rows[1]!.requests, null, 'after unread');
  const [c] = counterDeltas([engine('c')], new Map([['c', metrics(1)]]), new Map([['c', metrics(4)]]));
  assert.equal(c!.requests, 3);
  assert.equal(c!.offload_hits, null, 'no LMCache: no offload figure, not zero');
});
