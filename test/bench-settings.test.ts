// Every benchmark and comparison option is read: changing any
// CONFIG_VLLM_BENCHMARK_* or CONFIG_VLLM_AB_MAX_* changes what the benchmark
// runs or how it is judged; impossible settings name their symbol.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchProblems, benchSettings, type BenchConfigVars } from '../scripts/lib/config/bench-settings.js';
import { thresholdsFrom, type ThresholdVars } from '../scripts/lib/compare/compare.js';
import { readKconfigTree, varName } from '../scripts/lib/config/index.js';
import { REPO } from './support/temp-project.js';

const BENCH: BenchConfigVars = {
  vllm_benchmark_enabled: true, vllm_benchmark_duration: 20, vllm_benchmark_warmup_requests: 10, vllm_benchmark_repeats: 1,
  vllm_benchmark_multi_round_qa: true, vllm_benchmark_concurrent_users: 8, vllm_benchmark_rounds: 4,
  vllm_benchmark_system_prompt_len: 500, vllm_benchmark_history_len: 500, vllm_benchmark_answer_len: 32, vllm_benchmark_qps: 0,
  vllm_benchmark_serving: true, vllm_benchmark_serving_request_rate: 20, vllm_benchmark_serving_burstiness_pct: 100,
  vllm_benchmark_serving_max_concurrency: 0, vllm_benchmark_serving_input_len: 256, vllm_benchmark_serving_output_len: 32,
  vllm_benchmark_pd_mix: true, vllm_benchmark_pd_mix_request_rate: 4, vllm_benchmark_pd_mix_long_pct: 20, vllm_benchmark_pd_mix_long_input_len: 1200,
  vllm_benchmark_pd_mix_long_output_len: 200, vllm_benchmark_pd_mix_short_input_len: 32, vllm_benchmark_pd_mix_short_output_len: 64,
  vllm_benchmark_slo_ttft_ms: 0, vllm_benchmark_slo_tpot_ms: 0, vllm_benchmark_slo_e2el_ms: 0, vllm_benchmark_results_dir: 'results',
  vllm_benchmark_lora: true, vllm_benchmark_lora_request_rate: 12, vllm_benchmark_lora_base_pct: 20, vllm_lora_enabled: true, vllm_lora_adapters: 'a=/a b=/b:1',
};
const AB: ThresholdVars = {
  vllm_ab_max_ttft_regression_pct: 10, vllm_ab_max_itl_regression_pct: 10, vllm_ab_max_e2el_regression_pct: 10,
  vllm_ab_max_tail_regression_pct: 25, vllm_ab_max_throughput_regression_pct: 10, vllm_ab_max_error_rate_increase_pct: 1,
};

test('every benchmark and threshold option of the Kconfig changes the benchmark settings or the thresholds', () => {
  const symbols = [...readKconfigTree(join(REPO, 'Kconfig')).values()]
    .filter((s) => s.type !== 'string' || s.name === 'VLLM_BENCHMARK_RESULTS_DIR')
    .map((s) => varName(s.name)).filter((v) => v.startsWith('vllm_benchmark_') || v.startsWith('vllm_ab_max_'));
  assert.ok(symbols.length >= 25, `found ${symbols.length}`);
  // The results dir is read by the results tree, not by the benchmark: proven by the results tests.
  for (const name of symbols.filter((v) => v !== 'vllm_benchmark_results_dir' && v !== 'vllm_benchmark_enabled')) {
    if (name in AB) {
      const key = name as keyof ThresholdVars;
      assert.notDeepEqual(thresholdsFrom({ ...AB, [key]: AB[key] + 1 }), thresholdsFrom(AB), `${name} changes no threshold`);
      continue;
    }
    const key = name as keyof BenchConfigVars;
    const value = BENCH[key];
    assert.notEqual(value, undefined, `${name} is missing from the test's configuration`);
    const changed = typeof value === 'boolean' ? !value : (value as number) + 1;
    const before = JSON.stringify(benchSettings(BENCH));
    let after: string;
    try {
      after = JSON.stringify(benchSettings({ ...BENCH, [key]: changed }));
    } catch (err) {
      after = String(err);
    }
    assert.notEqual(after, before, `${name} changes nothing the benchmark runs`);
  }
  assert.throws(() => benchSettings({ ...BENCH, vllm_benchmark_enabled: false }), /CONFIG_VLLM_BENCHMARK_ENABLED is not set/);
});

test('settings that cannot run are refused naming their symbol', () => {
  const long = benchProblems({ ...BENCH, vllm_max_model_len: 1024 });
  assert.match(long.map((p) => `${p.symbol}: ${p.message}`).join('\n'), /VLLM_BENCHMARK_HISTORY_LEN: the last round's prompt and answer come to about \d+ tokens .* more than CONFIG_VLLM_MAX_MODEL_LEN=1024/);
  assert.match(long.map((p) => `${p.symbol}: ${p.message}`).join('\n'), /VLLM_BENCHMARK_PD_MIX_LONG_INPUT_LEN: a long request's prompt and output come to about \d+ tokens, more than CONFIG_VLLM_MAX_MODEL_LEN=1024/);
  const unbounded = benchProblems({ ...BENCH, vllm_max_model_len: 4096, vllm_benchmark_serving_request_rate: 0 });
  assert.deepEqual(unbounded.map((p) => p.symbol), ['VLLM_BENCHMARK_SERVING_MAX_CONCURRENCY']);
  const nothing = benchProblems({ ...BENCH, vllm_max_model_len: 4096, vllm_benchmark_multi_round_qa: false, vllm_benchmark_serving: false, vllm_benchmark_lora: false, vllm_benchmark_pd_mix: false });
  assert.deepEqual(nothing.map((p) => p.symbol), ['VLLM_BENCHMARK_MULTI_ROUND_QA']);
  assert.deepEqual(benchProblems({ ...BENCH, vllm_max_model_len: 4096 }), []);
  assert.deepEqual(benchProblems({ ...BENCH, vllm_benchmark_enabled: false, vllm_max_model_len: 16 }), [], 'an unused benchmark is not checked');
});

test('an option the benchmark needs but extra_vars.yaml lacks is named, with what to run', () => {
  const { vllm_benchmark_rounds: _, ...withoutRounds } = BENCH;
  assert.throws(() => benchSettings(withoutRounds as BenchConfigVars), /^Error: CONFIG_VLLM_BENCHMARK_ROUNDS is missing from extra_vars.yaml although the benchmark needs it; run make olddefconfig$/);
  assert.throws(() => benchSettings({ ...BENCH, vllm_benchmark_rounds: null } as unknown as BenchConfigVars), /CONFIG_VLLM_BENCHMARK_ROUNDS is missing/);
});
