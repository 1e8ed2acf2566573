// The api and routing suites pass on a healthy stack and fail, saying why,
// on a deliberately broken one: an engine that answers every request with
// 500, and a live router whose routing logic is not the configured one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { faultsSuite } from '../scripts/lib/suites/faults.js';
import { runSuite as runOne } from '../scripts/lib/suites/runner.js';
import { outline, runSuite, setLiveRouting, suiteContext, testStack, type TestStack } from './support/suite-stack.js';

let ts: TestStack;
before(async () => {
  ts = await testStack({ routingLogic: 'prefixaware' });
});
after(() => ts?.stop());

function failed(r: Awaited<ReturnType<typeof runSuite>>): string[] {
  return r.cases.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.reason ?? ''}`);
}

test('api passes on a healthy stack, and fails naming the engine when one answers every request with 500', { timeout: 60_000 }, async () => {
  const healthy = await runSuite(ts.stack, ts.expect, 'api');
  assert.equal(healthy.status, 'passed', outline(healthy));
  assert.deepEqual(healthy.cases.filter((c) => c.status === 'skipped').map((c) => c.name), ['wrong API key'], 'only the key case is skipped, with its reason');

  const ctx = suiteContext(ts.stack, ts.expect);
  const engine1 = (await ts.stack.engines())[1];
  assert.ok(engine1);
  await ctx.http.post(`${engine1.url}/admin/config`, { failureRate: 1, failureKinds: ['500'] });
  try {
    const broken = await runSuite(ts.stack, ts.expect, 'api');
    assert.equal(broken.status, 'failed');
    assert.ok(failed(broken).some((f) => /^engine-1 directly: engine-1 answered the completion with HTTP 500: .*injected failure/.test(f)), outline(broken));
    assert.ok(!failed(broken).some((f) => f.startsWith('engine-0 directly')), 'the healthy engine passes');
  } finally {
    await ctx.http.post(`${engine1.url}/admin/config`, { failureRate: 0 });
    await ctx.close();
  }
});

test('routing (prefix aware) passes, and fails when the live router routes round robin although the node is configured prefix-aware', { timeout: 60_000 }, async () => {
  const healthy = await runSuite(ts.stack, ts.expect, 'routing');
  assert.equal(healthy.status, 'passed', outline(healthy));
  const measured = healthy.cases[0]?.measured ?? {};
  assert.ok((measured.affinity as number) >= 0.95 && (measured.hit_rate as number) > 0.5, JSON.stringify(measured));
  assert.equal(healthy.engines.length, 2);
  assert.ok(healthy.load_skew !== null && healthy.load_skew >= 1);

  await setLiveRouting(ts, 'roundrobin');
  try {
    const broken = await runSuite(ts.stack, ts.expect, 'routing');
    assert.equal(broken.status, 'failed');
    assert.match(failed(broken).join('\n'), /prefix affinity: only \d+ of \d+ follow-ups .* reached the engine that served the user's first request.*prefix-cache hit rate is/s);
  } finally {
    await setLiveRouting(ts, 'prefixaware');
  }
});

test('routing (session): sessions stick and move only to a new engine on scale-up; a round-robin router fails it', { timeout: 60_000 }, async () => {
  const expect = { ...ts.expect, routingLogic: 'session' };
  await setLiveRouting(ts, 'session');
  try {
    const healthy = await runSuite(ts.stack, expect, 'routing');
    assert.equal(healthy.status, 'passed', outline(healthy));
    const moved = healthy.cases.find((c) => c.name === 'sessions on scale-up');
    assert.ok(moved && (moved.measured.moved_share as number) <= 0.5 && moved.perturbed?.includes('scaled back to 2'), JSON.stringify(moved));
    assert.equal((await ts.stack.engines()).length, 2, 'scaled back');

    await setLiveRouting(ts, 'roundrobin');
    const broken = await runSuite(ts.stack, expect, 'routing', {});
    assert.equal(broken.status, 'failed');
    assert.match(failed(broken).join('\n'), /sessions stick: .*sessions were served by more than one engine/);
  } finally {
    await setLiveRouting(ts, 'prefixaware');
  }
});

test('routing (least loaded): a slowed engine gets a small share; a round-robin router fails it', { timeout: 60_000 }, async () => {
  const expect = { ...ts.expect, routingLogic: 'leastloaded' };
  await setLiveRouting(ts, 'leastloaded');
  try {
    const healthy = await runSuite(ts.stack, expect, 'routing');
    assert.equal(healthy.status, 'passed', outline(healthy));
    await setLiveRouting(ts, 'roundrobin');
    const broken = await runSuite(ts.stack, expect, 'routing');
    assert.equal(broken.status, 'failed');
    assert.match(failed(broken).join('\n'), /slow engine avoided: the slowed engine-0 served .* more than .*: the router does not prefer less loaded engines/);
    assert.match(broken.cases[0]?.perturbed ?? '', /engine-0 slowed 4×.*engine-0 speed restored/);
  } finally {
    await setLiveRouting(ts, 'prefixaware');
  }
});

test('faults (engine answering 500) fails when the router keeps sending to an engine that answers only 500s although the node is configured to eject it', { timeout: 60_000 }, async () => {
  // This stack's router runs without outlier ejection; the expectation says 5.
  const ctx = suiteContext(ts.stack, { ...ts.expect, outlierConsecutive5xx: 5 });
  try {
    const r = await runOne({ name: 'faults', cases: async (c) => (await faultsSuite.cases(c)).filter((x) => x.name === 'engine answering 500') }, ctx);
    assert.equal(r.status, 'failed', r.cases.map((c) => c.reason).join('\n'));
    assert.match(r.cases[0]?.reason ?? '', /\d+ clients got 500 from engine-0, more than 5 in a row \+ 2 in flight: the router did not eject it/);
    assert.match(r.cases[0]?.perturbed ?? '', /engine-0 restarted healthy/);
  } finally {
    await ctx.close();
  }
  assert.ok((await ts.stack.engines()).every((e) => e.ready), 'both engines serve again');
});
