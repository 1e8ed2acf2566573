// The pd suite against a real disaggregating stack (one prefill and two
// decode engines, KV pushed over the engines' side channels): it passes
// when requests are split as disaggregated prefill promises, and fails when
// the router sends everything to one pool; on a colocated node it is
// skipped with the reason.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nodeLayout, routerDynamicConfig } from '../scripts/lib/targets/local/process-commands.js';
import { writeJsonAtomic } from '../scripts/lib/atomic-write.js';
import { outline, runSuite, testStack, type TestStack } from './support/suite-stack.js';

let ts: TestStack;
before(async () => {
  ts = await testStack({ replicas: 3, maxReplicas: 3, pd: { prefill: 1, decode: 2, routingLogic: 'disaggregated_prefill' } });
});
after(async () => {
  await ts?.stop();
});

/** Points the router at some engines only, routed round robin: a router that ignores the two pools. */
async function routeOnly(indexes: number[]): Promise<void> {
  const config = { ...routerDynamicConfig(ts.spec, indexes), routing_logic: 'roundrobin' };
  await writeJsonAtomic(nodeLayout(ts.spec.workDir).routerConfig, config);
  for (let i = 0; i < 100; i++) {
    const live = (await (await fetch(`${ts.stack.routerUrl}/engines`)).json()) as { routing_logic: string; engines: unknown[] };
    if (live.routing_logic === 'roundrobin' && live.engines.length === indexes.length) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the router did not take the new config');
}

test('pd passes on a disaggregating stack: split from the counters, transfer inside TTFT, a killed decode engine failed over', { timeout: 120_000 }, async () => {
  const r = await runSuite(ts.stack, ts.expect, 'pd');
  assert.equal(r.status, 'passed', outline(r));
  assert.deepEqual(r.cases.map((c) => c.status), ['passed', 'passed', 'passed']);
});

test('pd fails when the router sends everything to the decode pool: no request was prefilled on a prefill engine', { timeout: 120_000 }, async () => {
  await routeOnly([1, 2]);
  const r = await runSuite(ts.stack, ts.expect, 'pd');
  assert.equal(r.status, 'failed');
  assert.match(r.cases[0]?.reason ?? '', /the prefill engines served 0 requests, not 16: requests skipped the prefill leg/);
  assert.match(r.cases[0]?.reason ?? '', /recomputed the prompt: the KV did not arrive/);
});

test('pd fails when the router sends everything to the prefill pool: the prefill engine decodes', { timeout: 120_000 }, async () => {
  await routeOnly([0]);
  const r = await runSuite(ts.stack, ts.expect, 'pd');
  assert.equal(r.status, 'failed');
  assert.match(r.cases[0]?.reason ?? '', /the prefill engines produced \d+ tokens for 16 requests: more than one per request, so they decoded/);
});

test('pd is skipped with the reason on a node that does not disaggregate', { timeout: 30_000 }, async () => {
  const r = await runSuite(ts.stack, { ...ts.expect, pd: null }, 'pd');
  assert.equal(r.cases[0]?.status, 'skipped');
  assert.match(r.cases[0]?.reason ?? '', /disaggregated prefill is off on this node \(CONFIG_VLLM_PD_ENABLED/);
});

test('pd passes with the KV pulled by the decode engine (disaggregated_prefill_orchestrated)', { timeout: 120_000 }, async () => {
  const pulled = await testStack({ replicas: 2, maxReplicas: 2, pd: { prefill: 1, decode: 1, routingLogic: 'disaggregated_prefill_orchestrated' } });
  try {
    const r = await runSuite(pulled.stack, pulled.expect, 'pd');
    assert.equal(r.status, 'passed', outline(r));
    assert.match(r.cases[2]?.expectation ?? '', /kill -9 the only decode engine/);
  } finally {
    await pulled.stop();
  }
});
