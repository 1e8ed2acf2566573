// The faults suite passes on a healthy stack (kill under load, router
// restart, an engine answering 500s, a hung engine, overload), and fails
// when the live router's request timeout is longer than the node's
// configuration says: clients wait longer for their 504 than promised.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { faultsSuite } from '../scripts/lib/suites/faults.js';
import { runSuite as runOne } from '../scripts/lib/suites/runner.js';
import { outline, runSuite, suiteContext, testStack, type TestStack } from './support/suite-stack.js';

let ts: TestStack;
before(async () => {
  ts = await testStack({ requestTimeout: 3, maxConcurrency: 32, maxNumSeqs: 16, outlier5xx: 5 });
});
after(() => ts?.stop());

test('faults pass on a healthy stack, every case measured and the stack put back', { timeout: 120_000 }, async () => {
  const r = await runSuite(ts.stack, ts.expect, 'faults', { caseSeconds: 1 });
  assert.equal(r.status, 'passed', outline(r));
  console.log(r.cases.map((c) => `${c.name} ${c.duration_s} s: ${c.summary}`).join('\n'));
  assert.deepEqual(r.cases.map((c) => [c.name, c.status]), [
    ['engine killed under load', 'passed'], ['router restart', 'passed'], ['engine answering 500', 'passed'],
    ['engine that hangs', 'passed'], ['overload past max-concurrency', 'passed'],
  ]);
  const kill = r.cases[0]?.measured ?? {};
  assert.equal(kill.failed, 0);
  assert.ok((kill.streams_on_victim as number) > 0 && kill.streams_hung === 0 && typeof kill.rejoin_s === 'number', JSON.stringify(kill));
  for (const c of r.cases.slice(0, 4)) assert.ok(c.perturbed, `${c.name} says what it changed and put back`);
  const sick = r.cases[2]?.measured ?? {};
  assert.ok((sick.errors as number) <= 7 && (sick.ok_after_last_error as number) > 0, `the sick engine was ejected after 5 × 500: ${JSON.stringify(sick)}`);
  const engines = await ts.stack.engines();
  assert.ok(engines.length === 2 && engines.every((e) => e.ready), 'both engines serve after the suite');
  const ctx = suiteContext(ts.stack, ts.expect);
  try {
    for (const e of engines) {
      const settings = (await ctx.http.get(`${e.url}/admin/config`)).json as { failureRate: number; prefillOverhead: number };
      assert.equal(settings.failureRate, 0, `${e.id} no longer fails`);
      assert.ok(settings.prefillOverhead < 100, `${e.id} no longer hangs`);
    }
  } finally {
    await ctx.close();
  }
});

test('faults fail when the router makes clients wait longer for a hung engine than its configured request timeout', { timeout: 60_000 }, async () => {
  const ctx = suiteContext(ts.stack, { ...ts.expect, requestTimeoutS: 1 });
  try {
    const r = await runOne({ name: 'faults', cases: async (c) => (await faultsSuite.cases(c)).filter((x) => x.name === 'engine that hangs') }, ctx);
    assert.equal(r.status, 'failed', outline(r));
    assert.match(r.cases[0]?.reason ?? '', /\d+ clients waited longer than the router's request timeout of 1 s \(\+1 s\), up to [\d.]+ s/);
  } finally {
    await ctx.close();
  }
});
