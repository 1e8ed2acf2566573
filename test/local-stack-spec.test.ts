import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { which } from 'zx';
import { engineCommand, routerCommand, routerDynamicConfig } from '../scripts/lib/targets/local/process-commands.js';
import { nodePlan, offloadBlocks, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';
import { readSecrets } from '../scripts/lib/stack/secrets.js';
import { checkNode } from '../scripts/lib/targets/local/node-check.js';
import { atLeast } from '../scripts/lib/targets/local/versions.js';
import { REPO as REPO_DIR } from './support/temp-project.js';

const vars: StackConfigVars = {
  vllm_engine: 'sim', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
  vllm_max_model_len: 2048, vllm_max_num_seqs: 16, vllm_dtype: 'auto', vllm_gpu_memory_utilization: 90,
  vllm_tensor_parallel_size: 1, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: true,
  vllm_sim_prefill_time_per_token_us: 200, vllm_sim_inter_token_latency_us: 10000, vllm_sim_kv_blocks: 1000, vllm_sim_block_size: 16,
  vllm_sim_load_factor_pct: 150, vllm_sim_seed: 42, vllm_sim_offload_time_per_token_us: 20, vllm_lmcache_cpu_buffer_size: 4, vllm_lmcache_disk_buffer_size: '10Gi', vllm_router_enabled: true,
  vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 5, vllm_router_request_stats_window: 60, vllm_router_outlier_consecutive_5xx: 5,
  vllm_router_request_timeout: 600, vllm_router_max_concurrency: 4096,
  vllm_observability_enabled: true, vllm_autoscaling_enabled: false, vllm_autoscaling_max_replicas: 4,
  vllm_prometheus_scrape_interval: 5, vllm_alert_error_rate_pct: 5, vllm_alert_ttft_p95_ms: 2000, vllm_alert_kv_cache_usage_pct: 90, vllm_alert_queue_depth: 10,
};
const node: StackNodeSettings = {
  name: 'vllm-baseline', role: 'baseline', host: null, workDir: '/w/vllm-baseline', stateDir: '/w/.deployed', routerPort: 8000, enginePortBase: 8001,
  prometheusPort: 9090, routerImpl: 'builtin', routingLogic: 'prefixaware', lmcacheEnabled: false, extraEngineArgs: [],
};

const flagValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test('simulated engines get the configured model, ports and simulator knobs', () => {
  const spec = nodePlan(vars, node);
  const cmd = engineCommand(spec, 1);
  assert.equal(cmd.command, process.execPath);
  assert.match(cmd.args[0] ?? '', /engine-sim\/src\/main\.js$/);
  assert.equal(flagValue(cmd.args, '--port'), '8002');
  assert.equal(flagValue(cmd.args, '--host'), '127.0.0.1');
  assert.equal(flagValue(cmd.args, '--served-model-name'), 'facebook/opt-125m');
  assert.equal(flagValue(cmd.args, '--kv-blocks'), '1000');
  assert.equal(flagValue(cmd.args, '--max-num-seqs'), '16');
  assert.equal(flagValue(cmd.args, '--prefill-time-per-token'), '0.2', 'microseconds in .config, milliseconds on the command line');
  assert.equal(flagValue(cmd.args, '--inter-token-latency'), '10');
  assert.equal(flagValue(cmd.args, '--load-factor'), '1.5');
  assert.ok(cmd.args.includes('--enable-prefix-caching'));
  assert.ok(!cmd.args.includes('--offload-blocks'), 'no offload tier without LMCache');
  assert.deepEqual(cmd.marker, ['--instance-id', 'vllm-baseline-engine-1']);
});

test('LMCache on the node gives the simulator an offload tier sized from the CPU buffer', () => {
  const cmd = engineCommand(nodePlan(vars, { ...node, lmcacheEnabled: true }), 0);
  assert.equal(flagValue(cmd.args, '--offload-blocks'), String(offloadBlocks(4, 16)));
  assert.equal(flagValue(cmd.args, '--offload-time-per-token'), '0.02');
  assert.equal(offloadBlocks(4, 16), 7281);
});

test('real vLLM engines get vllm serve with the engine flags, and LMCache through the KV connector', () => {
  const spec = nodePlan({ ...vars, vllm_engine: 'vllm', vllm_model_name: 'opt', vllm_use_cpu_inference: false }, { ...node, lmcacheEnabled: true, extraEngineArgs: ['--enforce-eager'] });
  const cmd = engineCommand(spec, 0);
  assert.equal(cmd.command, 'vllm');
  assert.deepEqual(cmd.args.slice(0, 2), ['serve', 'facebook/opt-125m']);
  assert.equal(flagValue(cmd.args, '--served-model-name'), 'opt');
  assert.match(flagValue(cmd.args, '--kv-transfer-config') ?? '', /LMCacheConnectorV1/);
  assert.equal(cmd.args.at(-1), '--enforce-eager');
  assert.equal(spec.engine.env.LMCACHE_MAX_LOCAL_CPU_SIZE, '4');
  assert.equal(spec.engine.env.LMCACHE_MAX_LOCAL_DISK_SIZE, '10');
  assert.equal(flagValue(cmd.args, '--gpu-memory-utilization'), '0.90');
  assert.equal(spec.engine.readyTimeoutMs, 900_000);
});

test('the router is started with static discovery of exactly the node\'s engines and its routing logic', () => {
  const spec = nodePlan(vars, { ...node, routingLogic: 'session' });
  const cmd = routerCommand(spec, [1, 0]);
  assert.equal(flagValue(cmd.args, '--static-backends'), 'http://127.0.0.1:8001,http://127.0.0.1:8002');
  assert.equal(flagValue(cmd.args, '--static-models'), 'facebook/opt-125m,facebook/opt-125m');
  assert.equal(flagValue(cmd.args, '--routing-logic'), 'session');
  assert.equal(flagValue(cmd.args, '--session-key'), 'x-user-id');
  assert.equal(flagValue(cmd.args, '--dynamic-config-json'), '/w/vllm-baseline/router-config.json');
  assert.equal(flagValue(cmd.args, '--outlier-consecutive-5xx'), '5', 'outlier ejection on, as the defconfigs have it');
  assert.equal(flagValue(cmd.args, '--request-timeout'), '600');
  assert.equal(flagValue(cmd.args, '--max-concurrency'), '4096');
  assert.deepEqual(routerDynamicConfig(spec, [0]), {
    service_discovery: 'static', static_backends: 'http://127.0.0.1:8001', static_models: 'facebook/opt-125m',
    routing_logic: 'session', session_key: 'x-user-id',
  });
});

test('the production-stack router runs as its Python module; a declared host\'s router listens on all interfaces', () => {
  const cmd = routerCommand(nodePlan(vars, { ...node, routerImpl: 'production-stack', host: 'gpu-box' }), [0]);
  assert.deepEqual(cmd.args.slice(0, 2), ['-m', 'vllm_router.app']);
  assert.ok(!cmd.args.includes('--outlier-consecutive-5xx'), 'a flag the production-stack router does not have');
  assert.equal(flagValue(cmd.args, '--host'), '0.0.0.0');
  assert.ok(!cmd.args.includes('--request-timeout') && !cmd.args.includes('--max-concurrency'), 'flags it does not have are not passed');
});

test('router and observability off: no router, no Prometheus', () => {
  const spec = nodePlan({ ...vars, vllm_router_enabled: false, vllm_observability_enabled: false }, node);
  assert.equal(spec.router, null);
  assert.equal(spec.prometheus, null);
  assert.throws(() => routerCommand(spec, [0]), /runs no router/);
});

test('engine ports beyond the reserved range are refused', () => {
  const spec = nodePlan(vars, node);
  assert.throws(() => engineCommand(spec, 2), /outside 0\.\.1/);
  const scaled = nodePlan({ ...vars, vllm_autoscaling_enabled: true }, node);
  assert.equal(flagValue(engineCommand(scaled, 3).args, '--port'), '8004');
});

test('secrets come from the environment first, else from the named files, with clear errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'key'), 'sk-file\n');
  assert.deepEqual(await readSecrets({ vllm_hf_token_file: '', vllm_api_key_file: join(dir, 'key') }, {}), { apiKey: 'sk-file' });
  assert.deepEqual(await readSecrets({ vllm_hf_token_file: '', vllm_api_key_file: join(dir, 'key') }, { VLLM_API_KEY: 'sk-env', HF_TOKEN: 'hf' }), { apiKey: 'sk-env', hfToken: 'hf' });
  await assert.rejects(readSecrets({ vllm_hf_token_file: join(dir, 'missing'), vllm_api_key_file: '' }, {}), /CONFIG_VLLM_HF_TOKEN_FILE\) does not exist/);
});

test('bring-up names each missing program once, with what to do, and still reports what is fine', async (t) => {
  if (await which('vllm', { nothrow: true })) return t.skip('vllm is installed here');
  const dir = await mkdtemp(join(tmpdir(), 'node-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec = nodePlan({ ...vars, vllm_engine: 'vllm' }, { ...node, workDir: dir, routerPort: 39_500, enginePortBase: 39_501, prometheusPort: 39_590 });
  const err = await checkNode(spec).then(() => null, (e: Error) => e);
  assert.ok(err, 'bring-up must refuse a vLLM engine without vllm');
  assert.equal(err.message.match(/no `vllm` executable/g)?.length, 1, err.message);
  assert.match(err.message, /install vLLM \(pip install vllm\) or choose the simulator \(CONFIG_VLLM_ENGINE_SIM\)/);
  assert.match(err.message, /✅ work dir/);
});

test('bring-up asks for the Node.js version package.json and README name', async () => {
  const pkg = JSON.parse(await readFile(join(REPO_DIR, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, '>=20.18.1');
  assert.match(await readFile(join(REPO_DIR, 'README.md'), 'utf8'), /Node\.js ≥ 20\.18\.1/);
  assert.equal(atLeast('20.18.1', [20, 18, 1]), true);
  assert.equal(atLeast('v22.0.0', [20, 18, 1]), true);
  assert.equal(atLeast('20.18.0', [20, 18, 1]), false);
  assert.equal(atLeast('20.9.5', [20, 18, 1]), false);
});

test('disaggregated prefill: prefill engines push to the decode engines\' KV ports, the router splits by model label', () => {
  const pdVars = { ...vars, vllm_replica_count: 3, vllm_sim_kv_transfer_tokens_per_sec: 50_000 };
  const spec = nodePlan(pdVars, { ...node, pd: { prefill: 1, decode: 2, routingLogic: 'disaggregated_prefill' } });
  const prefill = engineCommand(spec, 0);
  assert.equal(flagValue(prefill.args, '--kv-role'), 'producer');
  assert.equal(flagValue(prefill.args, '--kv-peer'), '127.0.0.1:8052,127.0.0.1:8053', 'every decode engine, at half a node stride above its API port');
  assert.equal(flagValue(prefill.args, '--kv-transfer-tokens-per-second'), '50000');
  const decode = engineCommand(spec, 2);
  assert.equal(flagValue(decode.args, '--kv-role'), 'consumer');
  assert.equal(flagValue(decode.args, '--kv-port'), '8053');
  const router = routerCommand(spec, [0, 1, 2]);
  assert.equal(flagValue(router.args, '--routing-logic'), 'disaggregated_prefill', 'the pools, whatever CONFIG_VLLM_ROUTING_LOGIC says');
  assert.equal(flagValue(router.args, '--static-model-labels'), 'prefill,decode,decode');
  assert.equal(flagValue(router.args, '--prefill-model-labels'), 'prefill');
  assert.equal(flagValue(router.args, '--decode-model-labels'), 'decode');
  assert.equal(routerDynamicConfig(spec, [2, 0]).static_model_labels, 'prefill,decode', 'the dynamic config keeps the labels when the engine set changes');
  const pulled = nodePlan(pdVars, { ...node, pd: { prefill: 1, decode: 2, routingLogic: 'disaggregated_prefill_orchestrated' } });
  assert.equal(flagValue(engineCommand(pulled, 0).args, '--kv-port'), '8051', 'orchestrated: the prefill engine serves pulls');
  assert.ok(!engineCommand(pulled, 1).args.includes('--kv-port'), 'orchestrated: the decode engine pulls, it listens for nothing');
  const real = nodePlan({ ...pdVars, vllm_engine: 'vllm' }, { ...node, pd: { prefill: 1, decode: 1, routingLogic: 'disaggregated_prefill' } });
  const sender = engineCommand(real, 0);
  assert.match(flagValue(sender.args, '--kv-transfer-config') ?? '', /"kv_role":"kv_producer"/);
  assert.deepEqual([sender.env.LMCACHE_NIXL_ROLE, sender.env.LMCACHE_NIXL_RECEIVER_HOST, sender.env.LMCACHE_NIXL_RECEIVER_PORT], ['sender', '127.0.0.1', '8052']);
  assert.equal(engineCommand(real, 1).env.LMCACHE_NIXL_ROLE, 'receiver');
});
