import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEngineSim, type RunningSim } from '../src/index.js';
import { interferenceMs, transferMs } from '../src/pd/kv-config.js';
import { disaggregationArgs } from '../src/pd/vllm-kv-config.js';
import { translateVllmArgs } from '../src/vllm-cli.js';

const MODEL = 'facebook/opt-125m';
const PROMPT = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

async function complete(sim: RunningSim, body: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: PROMPT, ...body }) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

async function counter(sim: RunningSim, name: string): Promise<number> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const m = new RegExp(`^engine_sim:${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('the chart\'s LMCache NIXL settings become the simulator\'s producer and consumer roles', () => {
  const producerEnv = { LMCACHE_ENABLE_NIXL: 'True', LMCACHE_NIXL_ROLE: 'sender', LMCACHE_NIXL_RECEIVER_HOST: 'decode-svc', LMCACHE_NIXL_RECEIVER_PORT: '55555' };
  const config = (role: string) => JSON.stringify({ kv_connector: 'LMCacheConnectorV1', kv_role: role, kv_connector_extra_config: { discard_partial_chunks: false, lmcache_rpc_port: 'sender' } });
  assert.deepEqual(disaggregationArgs(config('kv_producer'), producerEnv), ['--kv-role', 'producer', '--kv-peer', 'decode-svc:55555']);
  const consumerEnv = { LMCACHE_ENABLE_NIXL: 'True', LMCACHE_NIXL_ROLE: 'receiver', LMCACHE_NIXL_RECEIVER_HOST: '0.0.0.0', LMCACHE_NIXL_RECEIVER_PORT: '55555' };
  assert.deepEqual(disaggregationArgs(config('kv_consumer'), consumerEnv), ['--kv-role', 'consumer', '--kv-port', '55555']);
  assert.deepEqual(disaggregationArgs(config('kv_both'), {}), [], 'kv_both is LMCache offload, no disaggregation');
  assert.throws(() => disaggregationArgs(config('kv_sideways'), {}), /kv_role "kv_sideways" is not one of/);
  assert.throws(() => disaggregationArgs('{nope', {}), /--kv-transfer-config is not JSON/);
  assert.throws(() => disaggregationArgs(config('kv_producer'), { ...producerEnv, LMCACHE_NIXL_RECEIVER_HOST: '' }), /needs LMCACHE_NIXL_RECEIVER_HOST/);
  const t = translateVllmArgs(['serve', MODEL, '--kv-transfer-config', config('kv_consumer'), '--max-num-batched-tokens', '256'], consumerEnv);
  assert.deepEqual(t.simArgs, ['--model', MODEL, '--kv-role', 'consumer', '--kv-port', '55555', '--max-num-batched-tokens', '256']);
  assert.deepEqual(t.ignored, []);
});

test('a running prefill stretches each decode step by its chunk; transfer time grows with the prompt', () => {
  assert.equal(interferenceMs(0, 512, 0.2, 1), 0, 'no prefill running: no interference (a decode-only engine)');
  assert.equal(interferenceMs(100, 512, 0.2, 1), 20);
  assert.equal(interferenceMs(5000, 512, 0.2, 1), 512 * 0.2, 'one step computes at most max-num-batched-tokens of prefill');
  assert.equal(transferMs(2000, 100_000, 1), 20);
  assert.equal(transferMs(2000, 0, 1), 0);
});

test('disaggregated_prefill: the producer pushes the prompt\'s KV to its NIXL peer, and the consumer decodes without recomputing', async (t) => {
  const consumer = await startEngineSim({ timeScale: 0.01, kvRole: 'consumer', kvPort: 0 });
  t.after(() => consumer.close());
  const kvPort = consumer.server.engine.pd?.port as number;
  const producer = await startEngineSim({ timeScale: 0.01, kvRole: 'producer', kvPeers: [{ host: '127.0.0.1', port: kvPort }] });
  t.after(() => producer.close());
  const prefill = await complete(producer, { max_tokens: 1 });
  assert.equal(prefill.usage.completion_tokens, 1);
  const decode = await complete(consumer, { max_tokens: 8, ignore_eos: true });
  assert.equal(decode.usage.completion_tokens, 8);
  assert.equal(decode.usage.prompt_tokens_details.cached_tokens, decode.usage.prompt_tokens, 'the whole prompt came transferred');
  assert.equal(await counter(producer, 'pd_prefill_only_requests_total'), 1);
  const blocks = Math.ceil(prefill.usage.prompt_tokens / 16);
  assert.equal(await counter(producer, 'pd_kv_blocks_sent_total'), blocks);
  assert.equal(await counter(consumer, 'pd_kv_blocks_received_total'), blocks);
  assert.equal(await counter(consumer, 'pd_decodes_with_transferred_kv_total'), 1);
  assert.equal(await counter(consumer, 'pd_recomputed_requests_total'), 0);
  assert.ok(await counter(producer, 'pd_kv_transfer_seconds_total') > 0, 'the transfer time is measured');
  // The same prompt again, straight to the consumer: its KV was used up, so it is recomputed and counted.
  await complete(consumer, { max_tokens: 2 });
  assert.equal(await counter(consumer, 'pd_recomputed_requests_total'), 1);
  assert.equal(await counter(consumer, 'pd_kv_blocks_recomputed_total'), blocks);
});

test('a push to a peer that is gone is counted failed, and the prefill still answers', async (t) => {
  const gone = await startEngineSim({ timeScale: 0, kvRole: 'consumer', kvPort: 0 });
  const port = gone.server.engine.pd?.port as number;
  await gone.close();
  const producer = await startEngineSim({ timeScale: 0, kvRole: 'producer', kvPeers: [{ host: '127.0.0.1', port }] });
  t.after(() => producer.close());
  await complete(producer, { max_tokens: 1 });
  assert.equal(await counter(producer, 'pd_kv_transfer_failures_total'), 1);
  assert.equal(await counter(producer, 'pd_kv_blocks_sent_total'), 0);
});

test('orchestrated: kv_transfer_params go out with the prefill\'s answer and the consumer pulls the KV from the producer', async (t) => {
  const producer = await startEngineSim({ timeScale: 0.01, kvRole: 'producer', kvPort: 0 });
  t.after(() => producer.close());
  const consumer = await startEngineSim({ timeScale: 0.01, kvRole: 'consumer' });
  t.after(() => consumer.close());
  const prefill = await complete(producer, { max_tokens: 20, kv_transfer_params: { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null } });
  assert.equal(prefill.usage.completion_tokens, 1, 'a remote-decode prefill answers one token');
  const params = prefill.kv_transfer_params;
  assert.equal(params.do_remote_prefill, true);
  assert.equal(params.remote_port, producer.server.engine.pd?.port);
  assert.equal(params.remote_engine_id, producer.instanceId);
  const decode = await complete(consumer, { max_tokens: 4, ignore_eos: true, kv_transfer_params: { ...params, remote_host: '127.0.0.1' } });
  assert.equal(decode.usage.completion_tokens, 4);
  assert.equal(await counter(consumer, 'pd_decodes_with_transferred_kv_total'), 1);
  assert.equal(await counter(producer, 'pd_kv_blocks_sent_total'), Math.ceil(prefill.usage.prompt_tokens / 16));
  assert.ok(await counter(consumer, 'pd_kv_transfer_seconds_total') > 0);
  // Pulled once: a second decode of it finds nothing held and recomputes.
  await complete(consumer, { max_tokens: 2, kv_transfer_params: { ...params, remote_host: '127.0.0.1' } });
  assert.equal(await counter(consumer, 'pd_recomputed_requests_total'), 1);
  assert.equal(await counter(consumer, 'pd_kv_transfer_failures_total'), 1);
});

test('kv_transfer_params that name no engine to pull from are a 400 naming the field', async (t) => {
  const sim = await startEngineSim({ timeScale: 0, kvRole: 'consumer' });
  t.after(() => sim.close());
  const res = await fetch(`${sim.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x', kv_transfer_params: { do_remote_prefill: true } }) });
  assert.equal(res.status, 400);
  assert.match(JSON.stringify(await res.json()), /remote_host and remote_port/);
});

test('the KV store keeps at most its capacity in blocks, oldest out first, and a decode takes its entry', async () => {
  const { KvStore, promptKey } = await import('../src/pd/kv-store.js');
  const store = new KvStore(10);
  store.put('a', { blocks: 4, tokens: 64 });
  store.put('b', { blocks: 4, tokens: 64 });
  store.put('c', { blocks: 4, tokens: 64 });
  assert.equal(store.take('a'), null, 'the oldest left to make room');
  assert.deepEqual(store.take('b'), { blocks: 4, tokens: 64 });
  assert.equal(store.take('b'), null, 'one transfer serves one decode');
  store.put('huge', { blocks: 50, tokens: 800 });
  assert.deepEqual(store.take('huge'), { blocks: 50, tokens: 800 }, 'an entry larger than the store still lands, alone');
  assert.notEqual(promptKey([1, 2, 3]), promptKey([1, 2, 4]));
  assert.equal(promptKey([1, 2, 3]), promptKey([1, 2, 3]));
});
