// A node's benchmark: every configured workload, repeated, through the node's
// router; baseline and dev start each repeat at the same agreed moment. Each
// workload leaves bench/<workload>.json (vllm bench serve's fields and the
// engines' own counters) and bench/<workload>.samples.jsonl, both validated
// against their schemas and written atomically.
import { join } from 'node:path';
import { seedOf } from '../random.js';
import { writeFileAtomic, writeJsonAtomic } from '../atomic-write.js';
import { assertValid } from '../results/schemas.js';
import type { StackHandle } from '../stack/stack-handle.js';
import { ClientLoad } from './client-load.js';
import { counterDeltas, readCounters, total } from './engine-counters.js';
import { loraFigures, readLoraCounters } from './lora-counters.js';
import { runLoraMix } from './lora-mix.js';
import { runMultiRoundQa } from './multi-round-qa.js';
import { ProgressReporter } from './progress.js';
import { succeeded, type RequestSample } from '../vocabulary/request-sample.js';
import { runPdMix } from './pd-mix.js';
import { runServing } from './serving.js';
import { drainMs, type BenchSettings, type WorkloadSpec } from '../config/bench-settings.js';
import { StreamClient } from './stream-client.js';
import type { BenchResult, ClientCpu, EngineCounters, LoraFigures, WorkloadName } from '../vocabulary/bench-result.js';
import { summarize } from '../vocabulary/bench-summary.js';
import type { WorkloadContext } from './workload.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchmarkInput {
  node: string;
  runId: string;
  stack: StackHandle;
  model: string;
  sessionKey: string;
  apiKey?: string | undefined;
  settings: BenchSettings;
  /** Epoch ms at which every node starts its first workload; undefined: now. */
  startAt?: number | undefined;
  /** Where bench/<workload>.json and .samples.jsonl go. */
  outDir: string;
  progressFile: string;
  log: (line: string) => void;
}

/** Gap left between two workloads' slots, for the counters to be read and the next to start. */
const SLOT_MARGIN_MS = 2000;

interface WorkloadRun {
  samples: RequestSample[];
  counters: EngineCounters[];
  client: ClientCpu;
  warnings: string[];
  startedAt: Date;
  lora: LoraFigures | null;
}

function vllmDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const ratio = (num: number | null, den: number | null): number | null => (num === null || den === null || den === 0 ? null : num / den);

async function runOnce(input: BenchmarkInput, spec: WorkloadSpec, repeat: number, t0: number, progress: ProgressReporter, clientRef: { current: StreamClient | null }): Promise<WorkloadRun> {
  const { settings, stack } = input;
  const engines = (await stack.engines()).filter((e) => e.running);
  const before = await readCounters(engines);
  const loraBefore = spec.name === 'lora' ? await readLoraCounters(engines) : null;
  const drain = drainMs(settings.durationS);
  const timeout = settings.durationS * 1000 + drain;
  const client = new StreamClient(stack.routerUrl, { apiKey: input.apiKey, headersTimeoutMs: timeout, bodyTimeoutMs: timeout });
  clientRef.current = client;
  const load = new ClientLoad();
  const samples: RequestSample[] = [];
  let next = 0;
  const startedAt = new Date();
  const ctx: WorkloadContext = {
    client, model: input.model, t0, repeat,
    endAt: performance.now() + settings.durationS * 1000,
    seed: seedOf(input.runId) ^ seedOf(`${spec.name}/${repeat}`),
    sessionKey: input.sessionKey,
    nextId: () => {
      const id = next++;
      return { id, warmup: id < settings.warmupRequests };
    },
    record: (s) => {
      samples.push(s);
      if (!s.warmup) progress.request(succeeded(s), s.ttft_ms);
    },
    lag: (ms) => load.lag(ms),
  };
  progress.begin(spec.name, repeat);
  const driver = spec.name === 'multi_round_qa' ? runMultiRoundQa(ctx, spec.params)
    : spec.name === 'lora' ? runLoraMix(ctx, spec.params)
      : spec.name === 'pd_mix' ? runPdMix(ctx, spec.params) : runServing(ctx, spec.params);
  const sendingEnds = setTimeout(() => progress.phase('draining'), settings.durationS * 1000);
  // Requests still running when the drain time is up are cancelled, so a hung engine cannot hang the benchmark.
  const drained = setTimeout(() => client.cancelAll(), settings.durationS * 1000 + drain);
  try {
    await driver;
  } finally {
    clearTimeout(sendingEnds);
    clearTimeout(drained);
    await client.close();
    clientRef.current = null;
  }
  const { cpu, warnings } = load.finish();
  const after = await readCounters(engines);
  const lora = spec.name === 'lora' ? loraFigures(loraBefore, await readLoraCounters(engines), spec.params.adapters) : null;
  return { samples, counters: counterDeltas(engines, before, after), client: cpu, warnings, startedAt, lora };
}

function sumCounters(runs: WorkloadRun[]): EngineCounters[] {
  const byId = new Map<string, EngineCounters>();
  for (const run of runs) {
    for (const row of run.counters) {
      const seen = byId.get(row.id);
      if (!seen) {
        byId.set(row.id, { ...row });
        continue;
      }
      for (const key of ['requests', 'prompt_tokens', 'generation_tokens', 'prefix_cache_queries', 'prefix_cache_hits', 'offload_queries', 'offload_hits'] as const) {
        seen[key] = seen[key] === null || row[key] === null ? null : (seen[key] as number) + (row[key] as number);
      }
    }
  }
  return [...byId.values()];
}

/** Per-adapter figures over repeats: counts add up, mean TTFTs weighted by requests. */
function sumLora(runs: WorkloadRun[]): LoraFigures | null {
  const known = runs.map((r) => r.lora);
  if (known.some((l) => l === null)) return null;
  const adapters: LoraFigures['adapters'] = {};
  for (const l of known as LoraFigures[]) {
    for (const [name, f] of Object.entries(l.adapters)) {
      const s = adapters[name] ?? { requests: 0, swaps: 0, mean_ttft_ms: null };
      const total = s.requests + f.requests;
      const mean = f.mean_ttft_ms === null ? s.mean_ttft_ms : s.mean_ttft_ms === null ? f.mean_ttft_ms : (s.mean_ttft_ms * s.requests + f.mean_ttft_ms * f.requests) / total;
      adapters[name] = { requests: total, swaps: s.swaps + f.swaps, mean_ttft_ms: mean === null ? null : Math.round(mean * 1000) / 1000 };
    }
  }
  const swaps = Object.values(adapters).reduce((a, f) => a + f.swaps, 0);
  const requests = Object.values(adapters).reduce((a, f) => a + f.requests, 0);
  return { adapters, swaps_total: swaps, swap_rate: requests > 0 ? Math.round((swaps / requests) * 1e4) / 1e4 : null };
}

function result(input: BenchmarkInput, spec: WorkloadSpec, runs: WorkloadRun[]): BenchResult {
  const samples = runs.flatMap((r) => r.samples);
  const summary = summarize(samples, input.settings.slo);
  const engines = sumCounters(runs);
  const perEngine: Record<string, number> = {};
  for (const s of samples) if (!s.warmup && succeeded(s) && s.engine !== null) perEngine[s.engine] = (perEngine[s.engine] ?? 0) + 1;
  const queries = total(engines, 'prefix_cache_queries');
  const hits = total(engines, 'prefix_cache_hits');
  const offloadQueries = total(engines, 'offload_queries');
  const offloadHits = total(engines, 'offload_hits');
  const cpuSeconds = runs.reduce((a, r) => a + r.client.cpu_seconds, 0);
  const lags = runs.map((r) => r.client.send_lag_p99_ms).filter((x): x is number => x !== null);
  const warnings = [...new Set(runs.flatMap((r) => r.warnings))];
  if (summary.completed === 0) warnings.push('no request completed: every figure is empty; see errors_by_kind and the samples file');
  const first = runs[0]?.startedAt ?? new Date();
  const s = input.settings;
  const params: Record<string, number> = { duration_s: s.durationS, warmup_requests: s.warmupRequests, repeats: s.repeats };
  if (spec.name === 'multi_round_qa') {
    const p = spec.params;
    Object.assign(params, { users: p.users, rounds: p.rounds, system_prompt_len: p.systemPromptLen, history_len: p.historyLen, answer_len: p.answerLen, qps: p.qps });
  } else if (spec.name === 'lora') {
    const p = spec.params;
    Object.assign(params, { input_len: p.inputLen, output_len: p.outputLen, request_rate: p.requestRate, base_share: p.baseShare, adapters: p.adapters.length });
  } else if (spec.name === 'pd_mix') {
    const p = spec.params;
    Object.assign(params, { long_pct: Math.round(p.longShare * 100), long_input_len: p.longInputLen, long_output_len: p.longOutputLen, short_input_len: p.shortInputLen, short_output_len: p.shortOutputLen });
  } else {
    const p = spec.params;
    Object.assign(params, { input_len: p.inputLen, output_len: p.outputLen });
  }
  return {
    workload: spec.name, node: input.node, run_id: input.runId,
    date: vllmDate(first), started_at: first.toISOString(),
    backend: spec.name === 'multi_round_qa' ? 'openai-chat' : 'openai',
    model_id: input.model, endpoint: input.stack.routerUrl, params, slo: s.slo,
    ...(spec.name === 'pd_mix' ? { request_rate: spec.params.requestRate, burstiness: 1 } : {}),
    ...(spec.name === 'serving' ? {
      request_rate: spec.params.requestRate === 0 ? 'inf' as const : spec.params.requestRate,
      burstiness: spec.params.burstiness,
      max_concurrency: spec.params.maxConcurrency === 0 ? null : spec.params.maxConcurrency,
    } : {}),
    ...summary,
    prefix_cache_queries: queries, prefix_cache_hits: hits, prefix_cache_hit_rate: ratio(hits, queries),
    offload_queries: offloadQueries, offload_hits: offloadHits, offload_hit_rate: ratio(offloadHits, offloadQueries),
    engines, requests_per_engine: perEngine,
    client: {
      cpu_seconds: cpuSeconds,
      cores: Math.max(...runs.map((r) => r.client.cores)),
      event_loop_utilization: Math.max(...runs.map((r) => r.client.event_loop_utilization)),
      send_lag_p99_ms: lags.length > 0 ? Math.max(...lags) : null,
      saturated: runs.some((r) => r.client.saturated),
    },
    warnings,
    samples_file: `${spec.name}.samples.jsonl`,
    ...(spec.name === 'lora' ? { lora: sumLora(runs) } : {}),
  };
}

async function write(outDir: string, res: BenchResult, samples: RequestSample[]): Promise<void> {
  for (const s of samples) assertValid('bench-sample', s, `a sample of ${res.workload}`);
  assertValid('bench-result', res, `bench/${res.workload}.json`);
  await writeFileAtomic(join(outDir, res.samples_file), samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length > 0 ? '\n' : ''));
  await writeJsonAtomic(join(outDir, `${res.workload}.json`), res);
}

/** Runs every workload and repeat; resolves with the results once all are written. */
export async function runBenchmark(input: BenchmarkInput): Promise<BenchResult[]> {
  const { settings } = input;
  const clientRef: { current: StreamClient | null } = { current: null };
  const progress = new ProgressReporter(input.progressFile, input.node, input.runId, settings.repeats, settings.durationS, () => clientRef.current?.pending ?? 0);
  const slotMs = settings.durationS * 1000 + drainMs(settings.durationS) + SLOT_MARGIN_MS;
  const runs = new Map<WorkloadName, WorkloadRun[]>(settings.workloads.map((w) => [w.name, []]));
  const t0 = performance.now();
  let slot = 0;
  try {
    // Repeats interleave workloads (qa, serving, qa, serving ...), each in its own time slot.
    for (let repeat = 1; repeat <= settings.repeats; repeat++) {
      for (const spec of settings.workloads) {
        if (input.startAt !== undefined) {
          const wait = input.startAt + slot * slotMs - Date.now();
          if (wait > 0) await sleep(wait);
          else if (slot === 0 && wait < -1000) input.log(`${input.node}: started ${(-wait / 1000).toFixed(1)} s after the agreed start time; the nodes' runs overlap less`);
        }
        slot++;
        const run = await runOnce(input, spec, repeat, t0, progress, clientRef);
        runs.get(spec.name)?.push(run);
        if (settings.repeats > 1) {
          const ok = run.samples.filter((s) => !s.warmup && succeeded(s)).length;
          input.log(`${input.node}: ${spec.name} repeat ${repeat}: ${ok} requests completed, ${run.samples.filter((s) => !s.warmup && !succeeded(s)).length} failed`);
        }
      }
    }
    const results: BenchResult[] = [];
    for (const spec of settings.workloads) {
      const specRuns = runs.get(spec.name) ?? [];
      const res = result(input, spec, specRuns);
      await write(input.outDir, res, specRuns.flatMap((r) => r.samples.sort((a, b) => a.id - b.id)));
      results.push(res);
    }
    await progress.close('done');
    return results;
  } catch (err) {
    await progress.close('failed');
    throw err;
  }
}
