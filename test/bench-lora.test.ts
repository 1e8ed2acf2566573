// The adapter workload's pure parts: Zipf-like popularity with a base-model
// share, and per-adapter figures from the engines' counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSettings, type BenchConfigVars } from '../scripts/lib/config/bench-settings.js';
import { loraFigures, parseLoraCounters } from '../scripts/lib/bench/lora-counters.js';
import { modelPicker } from '../scripts/lib/bench/lora-mix.js';
import { Random } from '../scripts/lib/random.js';

test('adapters are drawn Zipf-like (the k-th as 1/k) beside the base model\'s share', () => {
  const pick = modelPicker(new Random(7), 'base', ['a', 'b', 'c', 'd'], 0.2);
  const n = 40_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const m = pick();
    counts.set(m, (counts.get(m) ?? 0) + 1);
  }
  const share = (m: string) => (counts.get(m) ?? 0) / n;
  assert.ok(Math.abs(share('base') - 0.2) < 0.01, `base ${share('base')}`);
  const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
  for (const [k, m] of ['a', 'b', 'c', 'd'].entries()) assert.ok(Math.abs(share(m) - (0.8 / (k + 1)) / h) < 0.01, `${m} ${share(m)}`);
});

test('per-adapter requests, swap-ins and mean TTFT are the engines\' counter deltas', () => {
  const metrics = (req: number, swaps: number, sum: number) => [
    `vllm_sim:lora_requests_total{lora_name="a"} ${req}`, `vllm_sim:lora_swaps_total{lora_name="a"} ${swaps}`,
    `vllm_sim:lora_time_to_first_token_seconds_sum{lora_name="a"} ${sum}`, `vllm_sim:lora_time_to_first_token_seconds_count{lora_name="a"} ${req}`,
  ].join('\n');
  const f = loraFigures(parseLoraCounters(metrics(2, 1, 0.2)), parseLoraCounters(metrics(12, 4, 1.2)), ['a', 'b']);
  assert.deepEqual(f, { adapters: { a: { requests: 10, swaps: 3, mean_ttft_ms: 100 }, b: { requests: 0, swaps: 0, mean_ttft_ms: null } }, swaps_total: 3, swap_rate: 0.3 });
  assert.equal(loraFigures(null, new Map(), ['a']), null, 'engines without the series (real vLLM): no figures');
});

test('the lora workload runs only with LoRA on, with the configured adapters', () => {
  const v = {
    vllm_benchmark_enabled: true, vllm_benchmark_duration: 20, vllm_benchmark_warmup_requests: 0, vllm_benchmark_repeats: 1,
    vllm_benchmark_multi_round_qa: false, vllm_benchmark_serving: false, vllm_benchmark_slo_ttft_ms: 0, vllm_benchmark_slo_tpot_ms: 0, vllm_benchmark_slo_e2el_ms: 0,
    vllm_benchmark_results_dir: 'results', vllm_benchmark_lora: true, vllm_benchmark_lora_request_rate: 5, vllm_benchmark_lora_base_pct: 10,
    vllm_lora_enabled: true, vllm_lora_adapters: 'x=/x y=/y:1',
  } as BenchConfigVars;
  const w = benchSettings(v).workloads[0];
  assert.deepEqual(w, { name: 'lora', params: { adapters: ['x', 'y'], requestRate: 5, baseShare: 0.1, inputLen: 64, outputLen: 16 } });
  assert.throws(() => benchSettings({ ...v, vllm_lora_enabled: false }), /no benchmark workload is selected/);
});
