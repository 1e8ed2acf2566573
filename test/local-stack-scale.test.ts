// LocalStack's scale, stopEngine, startEngine and restartRouter under load,
// with real simulators and the router on loopback: a graceful stop takes the
// engine out of the router's rotation, drains it, then stops it, so no client
// sees a failure; a kill is a crash the router must cope with.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EngineDirectory } from '../scripts/lib/suites/engines.js';
import { Load, describeFailures } from '../scripts/lib/suites/load.js';
import { suiteContext, testStack, type TestStack } from './support/suite-stack.js';
import { until } from './support/loopback.js';

// One stack for the whole file; each test leaves it as it found it (engine-0 and engine-1 serving).
let ts: TestStack;
let ctx: ReturnType<typeof suiteContext>;
before(async () => {
  ts = await testStack();
  ctx = suiteContext(ts.stack, ts.expect);
});
after(async () => {
  await ctx?.close();
  await ts?.stop();
});

async function routerEngines(): Promise<string[]> {
  const res = await fetch(`${ts.stack.routerUrl}/engines`);
  return ((await res.json()) as { engines: { url: string }[] }).engines.map((e) => e.url).sort();
}

function steadyLoad(dir: EngineDirectory) {
  return Load.start(ctx, dir, (i) => ({ path: '/v1/completions', body: { model: ts.expect.model, prompt: `load ${i}`, max_tokens: 8 } }), { concurrency: 6 });
}

/** Until the load has had `n` more answers than it has now: it runs through whatever happens meanwhile. */
function moreAnswers(load: Load, n: number, what: string): Promise<void> {
  const from = load.samples.length;
  return until(`${n} more answers ${what}`, () => load.samples.length >= from + n, 30_000);
}

test('a graceful stop under load: out of rotation, drained (its stream finishes), stopped; started again it serves', { timeout: 60_000 }, async () => {
  const dir = await EngineDirectory.read(ctx);
  // A stream of about a second on engine-1, then the stop while it and the load run.
  let onEngine: string | null = null;
  let stream: ReturnType<typeof ctx.http.stream> | null = null;
  for (let k = 0; k < 8 && onEngine !== 'engine-1'; k++) {
    await new Promise<void>((admitted) => {
      stream = ctx.http.stream(`${ts.stack.routerUrl}/v1/completions`, { model: ts.expect.model, prompt: `stream ${k}`, max_tokens: 100, ignore_eos: true }, { onHeaders: (h) => { onEngine = dir.servedBy(h); admitted(); } });
    });
  }
  assert.equal(onEngine, 'engine-1', 'a stream runs on engine-1');
  const load = steadyLoad(dir);
  await moreAnswers(load, 10, 'before the stop');
  await ts.stack.stopEngine('engine-1', 'graceful');
  const afterStop = (await ts.stack.engines()).map((e) => e.id);
  assert.deepEqual(afterStop, ['engine-0'], 'the stack no longer lists engine-1');
  assert.deepEqual(await routerEngines(), [dir.engines[0]?.url], 'the router sends to engine-0 only');
  const streamed = await (stream as unknown as ReturnType<typeof ctx.http.stream>);
  assert.equal(streamed.end, 'done', `the stream in flight on engine-1 finished: ${streamed.error ?? ''}`);
  const samples = await load.stop();
  assert.ok(samples.length > 10);
  assert.equal(samples.filter((s) => !s.ok).length, 0, `no request failed: ${describeFailures(samples)}`);

  await ts.stack.startEngine('engine-1');
  assert.deepEqual((await ts.stack.engines()).map((e) => `${e.id} ${e.ready}`), ['engine-0 true', 'engine-1 true']);
  const back = await EngineDirectory.read(ctx);
  const served = new Set<string | null>();
  for (let i = 0; i < 6; i++) served.add(back.servedBy((await ctx.http.post(`${ts.stack.routerUrl}/v1/completions`, { model: ts.expect.model, prompt: `again ${i}`, max_tokens: 2 })).headers));
  assert.ok(served.has('engine-1'), 'engine-1 serves again');
});

test('scale up and down under load: new engines serve, removed ones drain, no request fails', { timeout: 60_000 }, async () => {
  const load = steadyLoad(await EngineDirectory.read(ctx));
  await ts.stack.scale(3);
  const three = await EngineDirectory.read(ctx);
  assert.deepEqual(three.ids, ['engine-0', 'engine-1', 'engine-2']);
  const before = (await three.counters(ctx)).get('engine-2')?.succeeded ?? 0;
  await until('the new engine-2 to get traffic', async () => ((await three.counters(ctx)).get('engine-2')?.succeeded ?? 0) > before, 30_000);
  await ts.stack.scale(1);
  assert.deepEqual((await ts.stack.engines()).map((e) => e.id), ['engine-0']);
  assert.equal((await routerEngines()).length, 1);
  await moreAnswers(load, 10, 'from engine-0 alone');
  const samples = await load.stop();
  assert.equal(samples.filter((s) => !s.ok).length, 0, `no request failed: ${describeFailures(samples)}`);
  await assert.rejects(ts.stack.scale(5), /allowed 0\.\.4 \(CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS\)/);
  await ts.stack.scale(2);
  assert.deepEqual((await ts.stack.engines()).map((e) => e.id), ['engine-0', 'engine-1']);
});

test('a killed engine stays configured (the router fails over) until startEngine brings it back; restartRouter keeps the engines', { timeout: 60_000 }, async () => {
  const dir = await EngineDirectory.read(ctx);
  const load = steadyLoad(dir);
  await moreAnswers(load, 10, 'before the kill');
  await ts.stack.stopEngine('engine-1', 'kill');
  const listed = await ts.stack.engines();
  assert.deepEqual(listed.map((e) => `${e.id} ${e.running}`), ['engine-0 true', 'engine-1 false'], 'killed, not removed');
  assert.equal((await routerEngines()).length, 2, 'the router keeps it configured');
  await moreAnswers(load, 20, 'with engine-1 killed');
  await ts.stack.startEngine('engine-1');
  assert.ok((await ts.stack.engines()).every((e) => e.ready));
  const samples = await load.stop();
  assert.equal(samples.filter((s) => !s.ok).length, 0, `the router failed over: ${describeFailures(samples)}`);

  const before = await ts.stack.routerMemoryBytes();
  assert.ok(before !== null && before > 10 * 2 ** 20, 'the router\'s resident memory is read from /proc');
  await ts.stack.restartRouter();
  assert.equal((await routerEngines()).length, 2);
  const r = await ctx.http.post(`${ts.stack.routerUrl}/v1/completions`, { model: ts.expect.model, prompt: 'after restart', max_tokens: 2 });
  assert.equal(r.status, 200);
  const engines = await (await fetch(`${ts.stack.routerUrl}/engines`)).json() as { routing_logic: string };
  assert.equal(engines.routing_logic, 'prefixaware', 'the restarted router routes as configured');
});

test('a drain that cannot finish is bounded: the engine is stopped after drainTimeoutMs', { timeout: 60_000 }, async () => {
  // Its own stack: the shared one keeps the configuration's drain bound.
  const own = await testStack({ drainTimeoutMs: 500 });
  const ownCtx = suiteContext(own.stack, own.expect);
  try {
    const engine1 = (await own.stack.engines())[1];
    assert.ok(engine1);
    await ownCtx.http.post(`${engine1.url}/admin/config`, { prefillOverhead: 60_000 });
    const stuck = ownCtx.http.post(`${engine1.url}/v1/completions`, { model: own.expect.model, prompt: 'stuck', max_tokens: 2 }, { timeoutMs: 30_000 });
    await until('the stuck request on engine-1', async () => /^vllm:num_requests_running\{[^}]*\} [1-9]/m.test(await (await fetch(`${engine1.url}/metrics`)).text()));
    const started = performance.now();
    await own.stack.stopEngine('engine-1', 'graceful');
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds >= 0.5 && seconds < 20, `stopped ${seconds.toFixed(1)} s after the drain began: the 0.5 s bound, not the stuck request's 60 s`);
    assert.notEqual((await stuck).status, 200, 'the stuck request was cut');
    assert.deepEqual((await own.stack.engines()).map((e) => e.id), ['engine-0']);
  } finally {
    await ownCtx.close();
    await own.stop();
  }
});
