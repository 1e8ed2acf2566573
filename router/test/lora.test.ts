// LoRA adapters through the router: adapter lists per engine kept current,
// adapter requests only to engines holding them, 404 for one no engine
// holds, loads and unloads through ?id=, and adapter affinity.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startEngineSim, type RunningSim } from '../../engine-sim/src/index.js';
import { LORA_DEFAULTS } from '../../engine-sim/src/lora/modules.js';
import { EngineAdapters, parseLoraInfo, preferResident } from '../src/lora/index.js';
import { startRouter, type RunningRouter } from '../src/index.js';

const MODEL = 'facebook/opt-125m';

test('an engine\'s adapters are the /v1/models ids with a parent; likely residency follows the metrics, then what was routed', () => {
  const a = new EngineAdapters();
  const card = (id: string, parent: string | null) => ({ id, parent });
  assert.deepEqual(a.fromCards([card(MODEL, null), card('x', MODEL), card('y', MODEL)]), { added: ['x', 'y'], removed: [] });
  a.fromMetrics({ maxLora: 1, running: [], waiting: [], resident: ['x'] });
  assert.deepEqual([a.resident('x'), a.resident('y')], [true, false]);
  a.routed('y');
  assert.deepEqual([a.resident('x'), a.resident('y')], [false, true], 'one slot: y pushed x out');
  assert.deepEqual(a.fromCards([card(MODEL, null), card('x', MODEL)]), { added: [], removed: ['y'] });
  assert.equal(a.resident('y'), false);
  a.fromMetrics({ maxLora: 2, running: ['x'], waiting: ['gone'], resident: null });
  assert.deepEqual(a.snapshot(), { adapters: ['x'], likely_resident: ['x'], max_lora: 2 });
});

test('vllm:lora_requests_info: the newest label set wins; the simulator\'s resident gauge names the slots', () => {
  const text = [
    'vllm:lora_requests_info{max_lora="2",running_lora_adapters="old",waiting_lora_adapters=""} 100',
    'vllm:lora_requests_info{max_lora="2",running_lora_adapters="a,b",waiting_lora_adapters="c"} 200',
    'vllm_sim:lora_resident{lora_name="a"} 1',
  ].join('\n');
  assert.deepEqual(parseLoraInfo(text), { maxLora: 2, running: ['a', 'b'], waiting: ['c'], resident: ['a'] });
  assert.equal(parseLoraInfo('vllm:num_requests_running{model_name="m"} 0'), null);
});

test('affinity keeps the engines holding the adapter unless they carry more than the slack beyond the least loaded', () => {
  const e = (url: string, inFlight: number, holds: boolean) => ({ url, inFlight, holds });
  const holds = (x: { holds: boolean }) => x.holds;
  assert.deepEqual(preferResident([e('a', 3, true), e('b', 0, false)], holds, 4).map((x) => x.url), ['a']);
  assert.deepEqual(preferResident([e('a', 5, true), e('b', 0, false)], holds, 4).map((x) => x.url), ['a', 'b']);
  assert.deepEqual(preferResident([e('a', 0, false), e('b', 0, false)], holds, 4).map((x) => x.url), ['a', 'b']);
});

async function loraSims(t: TestContext, adapters: string[][], env = { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true' }): Promise<RunningSim[]> {
  const started = await Promise.all(adapters.map((names, i) => startEngineSim({
    timeScale: 0, instanceId: `engine-${i}`, loraRuntimeUpdating: env.VLLM_ALLOW_RUNTIME_LORA_UPDATING === 'true',
    lora: { ...LORA_DEFAULTS, enabled: true, modules: names.map((name) => ({ name, path: `/adapters/${name}`, baseModelName: null })) },
  })));
  t.after(() => Promise.all(started.map((s) => s.close())));
  return started;
}

async function router(t: TestContext, sims: RunningSim[], args: string[] = []): Promise<RunningRouter> {
  const r = await startRouter(['--static-backends', sims.map((s) => s.url).join(','), '--static-models', sims.map(() => MODEL).join(','), '--log-level', 'warn', ...args]);
  t.after(() => r.close());
  return r;
}

async function call(url: string, path: string, body?: unknown): Promise<{ status: number; json: any; engine: string | null }> {
  const res = await fetch(`${url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch { /* bare text: vLLM's load and unload answers */ }
  return { status: res.status, json, engine: res.headers.get('x-engine-instance-id') };
}

const complete = (url: string, model: string) => call(url, '/v1/completions', { model, prompt: 'hello', max_tokens: 1 });

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('adapter requests go only to engines listing the adapter; an unknown one is the OpenAI 404; /v1/models lists each adapter once with its parent', async (t) => {
  const sims = await loraSims(t, [['sql'], ['sql', 'chat'], []]);
  const r = await router(t, sims);
  await until('the engines\' adapters', async () => (await call(r.url, '/v1/models')).json.data.length === 3);
  const models = (await call(r.url, '/v1/models')).json.data;
  assert.deepEqual(models.map((m: any) => [m.id, m.parent, m.root]), [['chat', MODEL, '/adapters/chat'], [MODEL, null, MODEL], ['sql', MODEL, '/adapters/sql']]);
  const where = async (model: string, n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await complete(r.url, model);
      assert.equal(res.status, 200);
      seen.add(res.engine as string);
    }
    return [...seen].sort();
  };
  assert.deepEqual(await where('chat', 4), ['engine-1']);
  assert.deepEqual(await where('sql', 6), ['engine-0', 'engine-1'], 'roundrobin among the engines holding sql');
  assert.deepEqual(await where(MODEL, 6), ['engine-0', 'engine-1', 'engine-2']);
  const missing = await complete(r.url, 'nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(Object.keys(missing.json.error).sort(), ['code', 'message', 'param', 'type']);
});

test('a load through the router (?id=) is routed to at once and only there; after the unload the adapter is 404 and reaches no engine', async (t) => {
  const sims = await loraSims(t, [[], []]);
  const r = await router(t, sims);
  const engines = (await call(r.url, '/engines')).json.engines as { id: string; url: string }[];
  const target = engines.find((e) => e.url === sims[1]?.url)?.id as string;
  const loaded = await call(r.url, `/v1/load_lora_adapter?id=${target}`, { lora_name: 'fresh', lora_path: '/adapters/fresh' });
  assert.deepEqual([loaded.status, loaded.json], [200, "Success: LoRA adapter 'fresh' added successfully."]);
  for (let i = 0; i < 4; i++) assert.equal((await complete(r.url, 'fresh')).engine, 'engine-1');
  const twice = await call(r.url, `/v1/load_lora_adapter?id=${target}`, { lora_name: 'fresh', lora_path: '/adapters/fresh' });
  assert.equal(twice.status, 400, 'the engine\'s 400 passes through');
  assert.equal((await call(r.url, `/v1/unload_lora_adapter?id=${target}`, { lora_name: 'fresh' })).status, 200);
  const before = await (await fetch(`${sims[1]?.url}/metrics`)).text();
  const after = await complete(r.url, 'fresh');
  assert.equal(after.status, 404);
  assert.equal(after.engine, null, 'answered by the router, not an engine');
  assert.equal(await (await fetch(`${sims[1]?.url}/metrics`)).text().then((m) => m.match(/vllm_sim:lora_requests_total\{lora_name="fresh"\} (\d+)/)?.[1]),
    before.match(/vllm_sim:lora_requests_total\{lora_name="fresh"\} (\d+)/)?.[1]);
  assert.equal((await call(r.url, '/v1/load_lora_adapter', { lora_name: 'x', lora_path: '/x' })).status, 400, 'a load names its engine');
});

test('an adapter loaded on an engine behind the router\'s back is found at the next models read', async (t) => {
  const sims = await loraSims(t, [[], []]);
  const r = await router(t, sims, ['--engine-stats-interval', '1']);
  assert.equal((await call(sims[0]?.url as string, '/v1/load_lora_adapter', { lora_name: 'side', lora_path: '/adapters/side' })).status, 200);
  await until('the router to route the side-loaded adapter', async () => (await complete(r.url, 'side')).status === 200);
  for (let i = 0; i < 3; i++) assert.equal((await complete(r.url, 'side')).engine, 'engine-0');
});

test('with --lora-affinity, alternating adapters stay on the engines holding them and swap less than without', async (t) => {
  const swaps = async (args: string[]) => {
    const sims = await loraSims(t, [['a', 'b'], ['a', 'b']]);
    const r = await router(t, sims, args);
    await until('adapters listed', async () => (await call(r.url, '/v1/models')).json.data.length === 3);
    // Sequential: each request finds nothing in flight, so affinity alone decides.
    for (let i = 0; i < 12; i++) assert.equal((await complete(r.url, i % 4 < 2 ? 'a' : 'b')).status, 200);
    let total = 0;
    for (const s of sims) for (const m of (await (await fetch(`${s.url}/metrics`)).text()).matchAll(/vllm_sim:lora_swaps_total\{[^}]*\} (\d+)/g)) total += Number(m[1]);
    return total;
  };
  const without = await swaps([]);
  const withAffinity = await swaps(['--lora-affinity']);
  assert.equal(withAffinity, 2, 'each adapter swapped in once, on one engine');
  assert.ok(without > withAffinity, `round robin swaps more (${without})`);
});
