// The lora suite: it passes on a stack whose router routes adapters, fails
// against a router that ignores them, and skips with the reason when LoRA is off.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { StackHandle } from '../scripts/lib/stack/stack-handle.js';
import { LORA_OFF } from '../scripts/lib/suites/lora.js';
import { adapterBlindRouter } from './support/adapter-blind-router.js';
import { outline, runSuite, testStack, type TestStack } from './support/suite-stack.js';

let ts: TestStack;
before(async () => {
  // Two engines: sql on one, chat on both.
  ts = await testStack({ replicas: 2, loraAdapters: 'sql=adapters/sql:1 chat=adapters/chat', routingLogic: 'roundrobin' });
});
after(() => ts?.stop());

test('lora passes on a router that routes adapters: listed, placed, loaded and unloaded at run time', { timeout: 60_000 }, async () => {
  const r = await runSuite(ts.stack, ts.expect, 'lora');
  assert.equal(r.status, 'passed', outline(r));
  assert.deepEqual(r.cases.map((c) => c.status), ['passed', 'passed', 'passed', 'passed', 'passed']);
  const placed = r.cases[1]?.measured.adapters as Record<string, { holders: string[] }>;
  assert.equal(placed.sql?.holders.length, 1);
  assert.equal(r.cases[3]?.measured.unloaded_through, 'router');
});

test('lora fails against a router that ignores adapters', { timeout: 60_000 }, async (t) => {
  const engines = await ts.stack.engines();
  const blind = await adapterBlindRouter(engines.map((e) => e.url), ts.expect.model);
  t.after(() => blind.close());
  const s = ts.stack;
  const stack: StackHandle = {
    routerUrl: blind.url, engines: () => s.engines(), scale: (n) => s.scale(n), stopEngine: (id, how) => s.stopEngine(id, how),
    startEngine: (id) => s.startEngine(id), teardown: () => s.teardown(),
  };
  const r = await runSuite(stack, { ...ts.expect, routerImpl: 'production-stack' }, 'lora');
  assert.equal(r.status, 'failed');
  assert.match(r.cases[0]?.reason ?? '', /sql listed 0 times/);
  assert.match(r.cases[1]?.reason ?? '', /sql: .*requests failed/);
});

test('lora skips every case with the reason when LoRA is off', { timeout: 30_000 }, async () => {
  const r = await runSuite(ts.stack, { ...ts.expect, lora: null }, 'lora');
  assert.equal(r.status, 'passed');
  assert.ok(r.cases.every((c) => c.status === 'skipped' && c.reason === LORA_OFF), outline(r));
});
