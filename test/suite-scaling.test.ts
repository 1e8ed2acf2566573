// The scaling suite passes on a healthy stack, and fails when the stack's
// scale-down kills engines before taking them out of the router's rotation,
// or when a second engine adds no capacity.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runSuites } from '../scripts/lib/suites/index.js';
import { scalingSuite } from '../scripts/lib/suites/scaling.js';
import { runSuite as runOne } from '../scripts/lib/suites/runner.js';
import type { StackHandle } from '../scripts/lib/stack/stack-handle.js';
import { PARAMS, outline, suiteContext, testStack, type TestStack } from './support/suite-stack.js';

let ts: TestStack;
before(async () => {
  // The saturating load queues 3 requests behind each running one on 1 engine: the router's
  // request timeout (3 s in the other suites' stacks) must not cut them on a busy machine.
  ts = await testStack({ maxNumSeqs: 8, requestTimeout: 30 });
});
after(() => ts?.stop());

/** A stack whose scale-down is broken: it kills the engines it will remove before the router knows. */
function killingScaleDown(stack: StackHandle): StackHandle {
  return Object.assign(Object.create(stack) as StackHandle, {
    async scale(replicas: number) {
      const running = (await stack.engines()).filter((e) => e.running);
      for (const e of running.slice(replicas)) await stack.stopEngine(e.id, 'kill');
      await stack.scale(replicas);
    },
  });
}

/**
 * A stack whose engines share one device: at N engines each runs N times
 * slower (the simulator's time scale), so a second engine adds no capacity.
 */
function sharedDevice(stack: StackHandle): StackHandle {
  return Object.assign(Object.create(stack) as StackHandle, {
    async scale(replicas: number) {
      await stack.scale(replicas);
      for (const e of (await stack.engines()).filter((x) => x.running)) await setTimeScale(e.url, replicas);
    },
  });
}

async function setTimeScale(engineUrl: string, timeScale: number): Promise<void> {
  const res = await fetch(`${engineUrl}/admin/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timeScale }) });
  assert.equal(res.status, 200, await res.text());
}

test('scaling passes on a healthy stack: 2 → 1 → 2 under load, capacity grows, nothing fails, back at 2', { timeout: 90_000 }, async (t) => {
  const run = await runSuites({ stack: ts.stack, expect: ts.expect, params: PARAMS, suites: ['scaling'], runDir: null, progressFile: null });
  const r = run.results[0];
  assert.ok(r);
  t.diagnostic(r.cases.filter((c) => /^requests\/s at/.test(c.name)).map((c) => `${c.name}: ${JSON.stringify(c.measured ?? {})}`).join('; '));
  assert.equal(r.status, 'passed', outline(r));
  assert.deepEqual(r.cases.map((c) => c.name), ['scale down 2 → 1 under load', 'requests/s at 1 engine', 'scale up 1 → 2: seconds to traffic', 'requests/s at 2 engines', 'ends at 2 engines']);
  const down = r.cases[0]?.measured ?? {};
  assert.ok((down.streams_on_removed as number) > 0, 'a stream was in flight on the removed engine');
  assert.equal((await ts.stack.engines()).length, 2);
});

test('scaling fails when a scale-down kills the engine before removing it from the router', { timeout: 90_000 }, async () => {
  const broken = killingScaleDown(ts.stack);
  const ctx = suiteContext(broken, ts.expect);
  try {
    // The first case and the suite's cleanup: enough to see the scale-down cut what ran on the engine.
    const r = await runOne({ name: 'scaling', cases: async (c) => {
      const all = await scalingSuite.cases(c);
      return Object.assign(all.slice(0, 1), { cleanup: all.cleanup });
    } }, ctx);
    assert.equal(r.status, 'failed', outline(r));
    assert.match(r.cases[0]?.reason ?? '', /streams did not finish while scaling 2 → 1 .*requests in flight on a removed engine were cut/);
    assert.equal((await ts.stack.engines()).filter((e) => e.running).length, 2, 'the suite put the stack back at 2 engines');
  } finally {
    await ctx.close();
  }
});

test('scaling fails when a second engine adds no capacity', { timeout: 90_000 }, async () => {
  const ctx = suiteContext(sharedDevice(ts.stack), ts.expect);
  try {
    const r = await runOne(scalingSuite, ctx);
    assert.equal(r.status, 'failed', outline(r));
    const capacity = r.cases.find((c) => c.name === 'requests/s at 2 engines');
    assert.equal(capacity?.status, 'failed', outline(r));
    assert.match(capacity?.reason ?? '', /requests\/s at 2 engines is [\d.]+× the [\d.]+ at 1, below 1\.5×: capacity does not grow with replicas/);
    assert.deepEqual(r.cases.filter((c) => c.status === 'failed').map((c) => c.name), ['requests/s at 2 engines'], 'only the capacity case fails: the stack scales and serves');
  } finally {
    await ctx.close();
    for (const e of await ts.stack.engines()) await setTimeScale(e.url, 1);
  }
});
