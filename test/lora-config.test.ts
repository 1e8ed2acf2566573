// LoRA in the configuration: CONFIG_VLLM_LORA_ADAPTERS read and placed, the
// engines' and router's command lines of a local node, and the values the
// chart gets; bad input names its symbol.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adaptersOnEngine, parseLoraAdapters } from '../scripts/lib/config/lora.js';
import { engineCommand, routerCommand } from '../scripts/lib/targets/local/process-commands.js';
import { nodePlan, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';
import { translateVllmArgs } from '../engine-sim/src/vllm-cli.js';
import { parseOptions } from '../engine-sim/src/options.js';

const LORA = 'sql=/a/sql:1 chat=/a/chat code=hf-org/code-lora:2';

test('adapters: NAME=PATH[:ENGINES], placed from engine k on, modulo the replicas; bad items name the symbol', () => {
  const adapters = parseLoraAdapters(LORA);
  assert.deepEqual(adapters[0], { name: 'sql', path: '/a/sql', engines: 1 });
  assert.equal(adapters[1]?.engines, null);
  const on = (i: number, replicas: number) => adaptersOnEngine(adapters, i, replicas).map((a) => a.name);
  assert.deepEqual([on(0, 3), on(1, 3), on(2, 3)], [['sql', 'chat', 'code'], ['chat'], ['chat', 'code']]);
  assert.deepEqual(on(2, 3), on(5, 3), 'an engine added by scaling takes the set of its index modulo the replicas');
  assert.deepEqual([on(0, 1)], [['sql', 'chat', 'code']]);
  assert.throws(() => parseLoraAdapters('sql'), /CONFIG_VLLM_LORA_ADAPTERS: "sql" is not NAME=PATH/);
  assert.throws(() => parseLoraAdapters('a=/x:0'), /on 0 engines/);
  assert.throws(() => parseLoraAdapters('a=/x a=/y'), /names "a" twice/);
  assert.throws(() => parseLoraAdapters('  '), /is empty/);
});

const vars: StackConfigVars = {
  vllm_engine: 'sim', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
  vllm_max_model_len: 2048, vllm_max_num_seqs: 16, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: true,
  vllm_sim_prefill_time_per_token_us: 200, vllm_sim_inter_token_latency_us: 10000, vllm_sim_kv_blocks: 1000, vllm_sim_block_size: 16,
  vllm_sim_load_factor_pct: 150, vllm_sim_seed: 42, vllm_router_enabled: true,
  vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 5, vllm_router_request_stats_window: 60, vllm_router_outlier_consecutive_5xx: 5,
  vllm_router_request_timeout: 600, vllm_router_max_concurrency: 4096, vllm_observability_enabled: false, vllm_autoscaling_enabled: false,
  vllm_lora_enabled: true, vllm_lora_adapters: LORA, vllm_lora_max_loras: 2, vllm_lora_runtime_updating: true, vllm_sim_lora_swap_time_ms: 40,
};
const node: StackNodeSettings = {
  name: 'vllm-baseline', role: 'baseline', host: null, workDir: '/w/b', stateDir: '/w/.deployed', routerPort: 8000, enginePortBase: 8001,
  prometheusPort: 9090, routerImpl: 'builtin', routingLogic: 'roundrobin', lmcacheEnabled: false, extraEngineArgs: [], loraAffinity: true,
};

test('a local node: each engine its adapters, the shared LoRA flags, the runtime variable, and the router\'s affinity', () => {
  const spec = nodePlan(vars, node);
  const e0 = engineCommand(spec, 0);
  const e1 = engineCommand(spec, 1);
  const after = (args: string[], flag: string) => args.slice(args.indexOf(flag) + 1).filter((_, i, a) => !a.slice(0, i + 1).some((x) => x.startsWith('--')));
  assert.deepEqual(after(e0.args, '--lora-modules'), ['sql=/a/sql', 'chat=/a/chat', 'code=hf-org/code-lora']);
  assert.deepEqual(after(e1.args, '--lora-modules'), ['chat=/a/chat', 'code=hf-org/code-lora']);
  for (const e of [e0, e1]) {
    assert.ok(e.args.includes('--enable-lora'));
    assert.equal(e.args[e.args.indexOf('--max-loras') + 1], '2');
    assert.equal(e.args[e.args.indexOf('--lora-swap-time') + 1], '40');
    assert.equal(e.env.VLLM_ALLOW_RUNTIME_LORA_UPDATING, 'True');
  }
  // The simulator reads what the node gives it.
  const sim = parseOptions(e0.args.slice(1), e0.env);
  assert.ok(sim !== 'help');
  assert.deepEqual([sim.lora.modules.map((m) => m.name), sim.lora.maxLoras, sim.loraRuntimeUpdating], [['sql', 'chat', 'code'], 2, true]);
  assert.ok(routerCommand(spec, [0, 1]).args.includes('--lora-affinity'));
  assert.ok(!routerCommand(nodePlan(vars, { ...node, loraAffinity: false }), [0, 1]).args.includes('--lora-affinity'));
  const off = nodePlan({ ...vars, vllm_lora_enabled: false }, node);
  assert.ok(!engineCommand(off, 0).args.some((a) => a.startsWith('--') && a.includes('lora')) && !('VLLM_ALLOW_RUNTIME_LORA_UPDATING' in engineCommand(off, 0).env));
  assert.ok(!routerCommand(off, [0]).args.includes('--lora-affinity'), 'no affinity without adapters');
});

test('real vLLM engines get the same LoRA flags, which the simulator\'s vllm entry point also reads', () => {
  const spec = nodePlan({ ...vars, vllm_engine: 'vllm', vllm_dtype: 'auto', vllm_tensor_parallel_size: 1 }, node);
  const cmd = engineCommand(spec, 0);
  assert.equal(cmd.command, 'vllm');
  assert.ok(cmd.args.includes('--enable-lora') && !cmd.args.includes('--lora-swap-time'));
  const { simArgs, ignored } = translateVllmArgs(cmd.args, {});
  assert.ok(!ignored.some((f) => f.includes('lora')));
  const sim = parseOptions(simArgs.filter((a, i, all) => a !== '--dtype' && all[i - 1] !== '--dtype'), {});
  assert.ok(sim !== 'help');
  assert.equal(sim.lora.modules.length, 3);
});
