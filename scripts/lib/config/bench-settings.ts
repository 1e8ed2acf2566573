// The configuration (extra vars) -> what the benchmark runs, and the
// parameters each workload takes: every CONFIG_VLLM_BENCHMARK_* option is
// read here and nowhere else.
import type { ExtraVars } from './extra-vars.js';
import { parseLoraAdapters } from './lora.js';
import { requiredOption } from './required-option.js';
import type { Slo } from '../vocabulary/bench-summary.js';

// What each workload is asked to do (bench/ runs them).
export interface QaParams {
  users: number;
  rounds: number;
  /** Words of the system prompt every user shares. */
  systemPromptLen: number;
  /** Words of context unique to each user, sent with its first question. */
  historyLen: number;
  /** max_tokens of every answer, generated in full (ignore_eos). */
  answerLen: number;
  /** Overall requests per second; 0 = each user asks as soon as its answer arrived. */
  qps: number;
}

/** Words of each question after its "question N:" label. */
export const QUESTION_LEN = 16;

/** The last round's prompt and answer, in words and messages (for the max-model-len check). */
export function longestRequest(p: QaParams): { words: number; messages: number } {
  // Each question is labelled "question N:", three more tokens.
  return { words: p.systemPromptLen + p.historyLen + p.rounds * (QUESTION_LEN + 3) + p.rounds * p.answerLen, messages: 2 * p.rounds + 1 };
}

export interface ServingParams {
  /** Mean arrivals per second; 0 = a new request as soon as one finishes (needs maxConcurrency). */
  requestRate: number;
  /** Gamma shape of the gaps: 1 is Poisson, below 1 burstier, above 1 steadier. */
  burstiness: number;
  /** Requests in flight at most; arrivals beyond it wait (0 = no limit). */
  maxConcurrency: number;
  /** Prompt words (one token each to the simulator). */
  inputLen: number;
  /** max_tokens, generated in full (ignore_eos). */
  outputLen: number;
}

export interface LoraMixParams {
  adapters: string[];
  requestRate: number;
  /** Share of requests for the base model, 0..1. */
  baseShare: number;
  inputLen: number;
  outputLen: number;
}

export const LORA_MIX_SHAPE = { inputLen: 64, outputLen: 16 } as const;

export interface PdMixParams {
  /** Mean arrivals per second (Poisson). */
  requestRate: number;
  /** Share of long requests, 0..1. */
  longShare: number;
  longInputLen: number;
  longOutputLen: number;
  shortInputLen: number;
  shortOutputLen: number;
}


export type WorkloadSpec = { name: 'multi_round_qa'; params: QaParams } | { name: 'serving'; params: ServingParams }
  | { name: 'lora'; params: LoraMixParams } | { name: 'pd_mix'; params: PdMixParams };

export interface BenchSettings {
  durationS: number;
  warmupRequests: number;
  repeats: number;
  workloads: WorkloadSpec[];
  slo: Slo;
}

export type BenchConfigVars = Pick<ExtraVars, `vllm_benchmark_${string}` & keyof ExtraVars>
  // The adapter workload asks for the configured adapters.
  & Partial<Pick<ExtraVars, 'vllm_lora_enabled' | 'vllm_lora_adapters'>>;

const need = requiredOption<BenchConfigVars>('the benchmark');

export function benchSettings(v: BenchConfigVars): BenchSettings {
  if (!v.vllm_benchmark_enabled) throw new Error('the benchmark is off (CONFIG_VLLM_BENCHMARK_ENABLED is not set); turn it on in make menuconfig');
  const workloads: WorkloadSpec[] = [];
  if (v.vllm_benchmark_multi_round_qa) {
    workloads.push({
      name: 'multi_round_qa',
      params: {
        users: need(v, 'vllm_benchmark_concurrent_users'), rounds: need(v, 'vllm_benchmark_rounds'),
        systemPromptLen: need(v, 'vllm_benchmark_system_prompt_len'), historyLen: need(v, 'vllm_benchmark_history_len'),
        answerLen: need(v, 'vllm_benchmark_answer_len'), qps: need(v, 'vllm_benchmark_qps'),
      },
    });
  }
  if (v.vllm_benchmark_serving) {
    const rate = need(v, 'vllm_benchmark_serving_request_rate');
    const concurrency = need(v, 'vllm_benchmark_serving_max_concurrency');
    workloads.push({
      name: 'serving',
      params: {
        requestRate: rate, burstiness: need(v, 'vllm_benchmark_serving_burstiness_pct') / 100, maxConcurrency: concurrency,
        inputLen: need(v, 'vllm_benchmark_serving_input_len'), outputLen: need(v, 'vllm_benchmark_serving_output_len'),
      },
    });
  }
  if (v.vllm_benchmark_lora && v.vllm_lora_enabled) {
    workloads.push({
      name: 'lora',
      params: {
        adapters: parseLoraAdapters(v.vllm_lora_adapters ?? '').map((a) => a.name),
        requestRate: need(v, 'vllm_benchmark_lora_request_rate'), baseShare: need(v, 'vllm_benchmark_lora_base_pct') / 100, ...LORA_MIX_SHAPE,
      },
    });
  }
  if (v.vllm_benchmark_pd_mix) {
    workloads.push({
      name: 'pd_mix',
      params: {
        requestRate: need(v, 'vllm_benchmark_pd_mix_request_rate'), longShare: need(v, 'vllm_benchmark_pd_mix_long_pct') / 100,
        longInputLen: need(v, 'vllm_benchmark_pd_mix_long_input_len'), longOutputLen: need(v, 'vllm_benchmark_pd_mix_long_output_len'),
        shortInputLen: need(v, 'vllm_benchmark_pd_mix_short_input_len'), shortOutputLen: need(v, 'vllm_benchmark_pd_mix_short_output_len'),
      },
    });
  }
  if (workloads.length === 0) throw new Error('no benchmark workload is selected; set CONFIG_VLLM_BENCHMARK_MULTI_ROUND_QA, CONFIG_VLLM_BENCHMARK_SERVING, CONFIG_VLLM_BENCHMARK_LORA or CONFIG_VLLM_BENCHMARK_PD_MIX');
  return {
    durationS: need(v, 'vllm_benchmark_duration'),
    warmupRequests: need(v, 'vllm_benchmark_warmup_requests'),
    repeats: need(v, 'vllm_benchmark_repeats'),
    workloads,
    slo: { ttft_ms: need(v, 'vllm_benchmark_slo_ttft_ms'), tpot_ms: need(v, 'vllm_benchmark_slo_tpot_ms'), e2el_ms: need(v, 'vllm_benchmark_slo_e2el_ms') },
  };
}

/** Requests still running when the sending stops may finish for this long: half the duration, 5 to 60 s. */
export function drainMs(durationS: number): number {
  return Math.min(60, Math.max(5, durationS / 2)) * 1000;
}

/** A conservative token estimate of synthetic words (real tokenizers split some words) plus chat markers. */
export function estimatedTokens(words: number, messages: number): number {
  return Math.ceil(words * 1.3) + 6 * messages;
}

/** Problems of a benchmark configuration, each naming its symbol; empty when it can run. */
export function benchProblems(v: BenchConfigVars & Pick<ExtraVars, 'vllm_max_model_len'>): { symbol: string; value: unknown; message: string }[] {
  if (!v.vllm_benchmark_enabled) return [];
  const problems: { symbol: string; value: unknown; message: string }[] = [];
  if (!v.vllm_benchmark_multi_round_qa && !v.vllm_benchmark_serving && !(v.vllm_benchmark_lora && v.vllm_lora_enabled) && !v.vllm_benchmark_pd_mix) {
    problems.push({ symbol: 'VLLM_BENCHMARK_MULTI_ROUND_QA', value: false, message: 'no benchmark workload is selected; set it, CONFIG_VLLM_BENCHMARK_SERVING or CONFIG_VLLM_BENCHMARK_PD_MIX (or turn CONFIG_VLLM_BENCHMARK_ENABLED off)' });
  }
  let settings: BenchSettings;
  try {
    settings = benchSettings(v);
  } catch {
    return problems;
  }
  for (const w of settings.workloads) {
    if (w.name === 'multi_round_qa') {
      const longest = longestRequest(w.params);
      const tokens = estimatedTokens(longest.words, longest.messages);
      if (tokens > v.vllm_max_model_len) {
        problems.push({ symbol: 'VLLM_BENCHMARK_HISTORY_LEN', value: v.vllm_benchmark_history_len, message: `the last round's prompt and answer come to about ${tokens} tokens (system prompt + context + ${w.params.rounds} questions and answers), more than CONFIG_VLLM_MAX_MODEL_LEN=${v.vllm_max_model_len}; shorten the system prompt, context, answers or rounds` });
      }
    } else if (w.name === 'pd_mix') {
      const tokens = estimatedTokens(w.params.longInputLen, 1) + w.params.longOutputLen;
      if (tokens > v.vllm_max_model_len) {
        problems.push({ symbol: 'VLLM_BENCHMARK_PD_MIX_LONG_INPUT_LEN', value: w.params.longInputLen, message: `a long request's prompt and output come to about ${tokens} tokens, more than CONFIG_VLLM_MAX_MODEL_LEN=${v.vllm_max_model_len}; shorten them` });
      }
    } else if (w.name === 'serving') {
      const tokens = estimatedTokens(w.params.inputLen, 1) + w.params.outputLen;
      if (tokens > v.vllm_max_model_len) {
        problems.push({ symbol: 'VLLM_BENCHMARK_SERVING_INPUT_LEN', value: w.params.inputLen, message: `prompt and output come to about ${tokens} tokens, more than CONFIG_VLLM_MAX_MODEL_LEN=${v.vllm_max_model_len}; shorten them` });
      }
      if (w.params.requestRate === 0 && w.params.maxConcurrency === 0) {
        problems.push({ symbol: 'VLLM_BENCHMARK_SERVING_MAX_CONCURRENCY', value: 0, message: 'with CONFIG_VLLM_BENCHMARK_SERVING_REQUEST_RATE=0 (as fast as allowed) a concurrency limit is needed; allowed: 1 or more' });
      }
    }
  }
  return problems;
}
