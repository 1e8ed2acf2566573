// The LoRA routes and requests over HTTP, answered as vLLM answers them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEngineSim } from '../src/index.js';
import { LORA_DEFAULTS } from '../src/lora/modules.js';

const MODEL = 'facebook/opt-125m';

async function call(url: string, path: string, body?: unknown): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

const lora = (over: Partial<typeof LORA_DEFAULTS> = {}) => ({ ...LORA_DEFAULTS, enabled: true, ...over });

test('load and unload answer as vLLM: 200 bare "Success" text, 400 for a second load or a missing field, 404 for an unknown unload', async (t) => {
  const sim = await startEngineSim({ timeScale: 0, lora: lora(), loraRuntimeUpdating: true });
  t.after(() => sim.close());
  const ok = await call(sim.url, '/v1/load_lora_adapter', { lora_name: 'sql', lora_path: '/adapters/sql' });
  assert.deepEqual([ok.status, ok.text, ok.type], [200, "Success: LoRA adapter 'sql' added successfully.", null]);
  const twice = await call(sim.url, '/v1/load_lora_adapter', { lora_name: 'sql', lora_path: '/adapters/sql' });
  assert.equal(twice.status, 400);
  assert.deepEqual(JSON.parse(twice.text).error, { message: "The lora adapter 'sql' has already been loaded.", type: 'InvalidUserInput', param: null, code: 400 });
  assert.equal((await call(sim.url, '/v1/load_lora_adapter', { lora_name: 'x' })).status, 400);
  const models = JSON.parse((await call(sim.url, '/v1/models')).text).data;
  assert.deepEqual(models.map((m: any) => [m.id, m.root, m.parent]), [[MODEL, MODEL, null], ['sql', '/adapters/sql', MODEL]]);
  const gen = await call(sim.url, '/v1/completions', { model: 'sql', prompt: 'select', max_tokens: 2 });
  assert.equal(gen.status, 200);
  assert.equal(JSON.parse(gen.text).model, 'sql');
  const gone = await call(sim.url, '/v1/unload_lora_adapter', { lora_name: 'sql' });
  assert.deepEqual([gone.status, gone.text], [200, "Success: LoRA adapter 'sql' removed successfully."]);
  const unknown = await call(sim.url, '/v1/unload_lora_adapter', { lora_name: 'sql' });
  assert.deepEqual([unknown.status, JSON.parse(unknown.text).error.type, JSON.parse(unknown.text).error.message], [404, 'NotFoundError', "The lora adapter 'sql' cannot be found."]);
  assert.equal((await call(sim.url, '/v1/completions', { model: 'sql', prompt: 'x', max_tokens: 1 })).status, 404);
});

test('without VLLM_ALLOW_RUNTIME_LORA_UPDATING the load and unload routes do not exist (404), while --lora-modules adapters are served', async (t) => {
  const sim = await startEngineSim({ timeScale: 0, lora: lora({ modules: [{ name: 'chat', path: '/a/chat', baseModelName: null }] }) });
  t.after(() => sim.close());
  assert.equal((await call(sim.url, '/v1/load_lora_adapter', { lora_name: 'x', lora_path: '/x' })).status, 404);
  assert.equal((await call(sim.url, '/v1/unload_lora_adapter', { lora_name: 'chat' })).status, 404);
  assert.equal((await call(sim.url, '/v1/chat/completions', { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 })).status, 200);
});

test('swapping adapters shows in latency and in the counters; lora_requests_info names max_lora', async (t) => {
  const modules = ['a', 'b'].map((name) => ({ name, path: `/a/${name}`, baseModelName: null }));
  // Only the swap costs time: no prefill, no decode.
  const sim = await startEngineSim({ prefillOverhead: 0, prefillTimePerToken: 0, interTokenLatency: 0, lora: lora({ modules, maxLoras: 1, swapTime: 60, loadTime: 0 }) });
  t.after(() => sim.close());
  const timed = async (model: string) => {
    const start = performance.now();
    assert.equal((await call(sim.url, '/v1/completions', { model, prompt: 'p', max_tokens: 1 })).status, 200);
    return performance.now() - start;
  };
  const first = await timed('a');
  await timed('a');
  const other = await timed('b');
  assert.ok(first >= 55 && other >= 55, `swap-ins take the modelled 60 ms (took ${first.toFixed(0)} and ${other.toFixed(0)})`);
  await timed(MODEL);
  const metrics = (await call(sim.url, '/metrics')).text;
  assert.match(metrics, /vllm_sim:lora_requests_total\{lora_name="a"\} 2/);
  assert.match(metrics, /vllm_sim:lora_swaps_total\{lora_name="a"\} 1/, 'the second request for a found it resident');
  assert.match(metrics, /vllm_sim:lora_swaps_total\{lora_name="b"\} 1/);
  assert.match(metrics, /vllm_sim:lora_resident\{lora_name="b"\} 1/);
  assert.match(metrics, /vllm:lora_requests_info\{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""\} \d+/);
  assert.match(metrics, /vllm_sim:lora_time_to_first_token_seconds_count\{lora_name="a"\} 2/);
});
