// lmcache: a multi-round workload sized from one engine's own KV capacity
// (vllm:cache_config_info) so that its working set overflows the GPU tier
// but fits the offload tier. Users come back in the order they first came,
// so each returning prefix has just been evicted from the GPU tier. With
// LMCache on they must find it in the offload tier (lmcache:num_hit_tokens
// rises) and get a clearly faster TTFT; with it off, neither. The workload
// goes to the engine directly: this suite tests the engine's cache tiers,
// not the router's choice.
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { EngineDirectory, engineHeaders } from './engines.js';
import { deltas, type CounterDelta, type EngineCounters } from './engine-metrics.js';
import { pool } from './batch.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce, words } from './text.js';

/** The working set is this many times the GPU tier: enough that every returning prefix was evicted (users return in the order they came, so each evicts the next one's blocks). */
const OVERFLOW = 1.25;
const MAX_USERS = 400;
const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Pass {
  ttfts: number[];
  failed: string[];
  promptTokens: number;
  d: CounterDelta;
}

class Workload {
  first: Pass | null = null;
  constructor(
    readonly ctx: SuiteContext,
    readonly engine: EngineInfo,
    readonly dir: EngineDirectory,
    readonly users: number,
    readonly promptWords: number,
    readonly capacity: number,
    readonly nonce: string,
  ) {}

  prompt(user: number, round2: boolean): string {
    const base = `lmcache ${this.nonce} user ${user}: ${words(`${this.nonce}/${user}`, this.promptWords)}`;
    return round2 ? `${base} and then: ${words(`${this.nonce}/${user}/2`, 8)}` : base;
  }

  /** Every user once, in order, each a stream whose time to first token is measured. */
  async pass(second: boolean): Promise<Pass> {
    const { ctx, engine } = this;
    const before: Map<string, EngineCounters> = await this.dir.counters(ctx);
    const ttfts: number[] = [];
    const failed: string[] = [];
    let promptTokens = 0;
    // Few enough at once that running requests pin at most a quarter of the GPU tier: what
    // they pin cannot be evicted, and the pass must cycle the whole tier.
    const concurrency = Math.max(1, Math.min(ctx.expect.maxNumSeqs, Math.floor(this.capacity / (4 * this.promptWords))));
    await pool(Array.from({ length: this.users }, (_, u) => u), concurrency, async (u) => {
      const r = await ctx.http.stream(`${engine.url}/v1/completions`, { model: ctx.expect.model, prompt: this.prompt(u, second), max_tokens: 2, stream_options: { include_usage: true } }, { headers: engineHeaders(ctx), timeoutMs: 60_000, signal: ctx.signal });
      if (r.end !== 'done' || r.ttftMs === null) failed.push(r.error ?? r.end);
      else ttfts.push(r.ttftMs);
      const usage = (r.events.at(-1) as { usage?: { prompt_tokens?: number } } | undefined)?.usage;
      promptTokens += usage?.prompt_tokens ?? 0;
    }, ctx.signal);
    const after = await this.dir.counters(ctx);
    const d = deltas(before, after).get(engine.id);
    if (!d) throw new Error(`${engine.id} stopped answering /metrics`);
    return { ttfts, failed, promptTokens, d };
  }
}

function cases(w: Workload): CaseDefinition[] {
  const { ctx, engine } = w;
  const tol = ctx.params.tolerance;
  const on = ctx.expect.lmcacheEnabled;
  return [{
    name: 'first pass overflows the GPU tier',
    expectation: `${w.users} users × ~${w.promptWords} tokens to ${engine.id} ≈ ${OVERFLOW}× its GPU KV capacity of ${w.capacity} tokens, all answered`,
    async run(c: CaseRun) {
      const p = await w.pass(false);
      w.first = p;
      c.measure({ engine: engine.id, users: w.users, prompt_tokens: p.promptTokens, gpu_capacity_tokens: w.capacity, cold_ttft_ms_median: round(median(p.ttfts), 1) });
      c.summary = `${p.promptTokens} tokens into ${w.capacity}, cold TTFT ${round(median(p.ttfts), 1)} ms`;
      c.check(p.failed.length === 0, `${p.failed.length} of ${w.users} requests failed (${p.failed[0] ?? ''})`);
      c.check(p.promptTokens > w.capacity, `the pass sent ${p.promptTokens} prompt tokens, not more than the ${w.capacity} the GPU tier holds`);
    },
  }, {
    name: on ? 'returning users hit the offload tier' : 'returning users recompute (no LMCache)',
    expectation: on
      ? `each user returns after its prefix left the GPU tier: offload hits rise (lmcache:num_hit_tokens), median TTFT at least ${Math.round(2 * tol * 100)} % below the cold pass`
      : `each user returns after its prefix left the GPU tier: no offload hits, median TTFT within ${Math.round(tol * 100)} % of the cold pass`,
    async run(c: CaseRun) {
      const first = w.first;
      if (!first) return void c.check(false, 'the first pass did not run, so nothing can return');
      const p = await w.pass(true);
      const cold = median(first.ttfts);
      const warm = median(p.ttfts);
      const ratio = cold !== null && warm !== null && cold > 0 ? warm / cold : null;
      const offloadShare = p.promptTokens > 0 ? p.d.offloadHits / p.promptTokens : 0;
      const gpuShare = p.promptTokens > 0 ? p.d.prefixHits / p.promptTokens : 0;
      c.measure({
        returning_ttft_ms_median: round(warm, 1), cold_ttft_ms_median: round(cold, 1), ttft_ratio: round(ratio),
        offload_hit_tokens: p.d.offloadHits, offload_requested_tokens: p.d.offloadRequested, gpu_hit_tokens: p.d.prefixHits,
        prompt_tokens: p.promptTokens, offload_hit_share: round(offloadShare), gpu_hit_share: round(gpuShare),
      });
      c.summary = `TTFT ${round(warm, 1)} vs ${round(cold, 1)} ms (${round(ratio, 2)}×), offload hits ${pct(offloadShare)}`;
      c.check(p.failed.length === 0, `${p.failed.length} of ${w.users} returning requests failed (${p.failed[0] ?? ''})`);
      c.check(gpuShare <= tol, `${pct(gpuShare)} of the returning prompt tokens were still in the GPU tier: the workload did not overflow it`);
      if (on) {
        c.check(offloadShare >= 1 - 2 * tol, `only ${pct(offloadShare)} of the returning prompt tokens came from the offload tier (lmcache:num_hit_tokens), expected ≥ ${pct(1 - 2 * tol)}: LMCache is not offloading`);
        c.check(ratio !== null && ratio <= 1 - 2 * tol, `returning TTFT is ${round(ratio, 2)}× the cold TTFT, not below ${round(1 - 2 * tol, 2)}×: offload hits do not make the prefill faster`);
      } else {
        c.check(p.d.offloadHits === 0, `${p.d.offloadHits} tokens came from an offload tier although LMCache is off on this node`);
        c.check(ratio !== null && ratio >= 1 - tol, `returning TTFT is ${round(ratio, 2)}× the cold TTFT although nothing can be reused; expected ≥ ${round(1 - tol, 2)}×`);
      }
    },
  }];
}

export const lmcacheSuite: SuiteDefinition = {
  name: 'lmcache',
  async cases(ctx) {
    const skip = (reason: string): CaseDefinition[] => [{ name: 'lmcache', expectation: 'offload hits and faster returns with LMCache, neither without', run: (c) => c.skip(reason) }];
    if (!ctx.expect.prefixCaching) return skip('prefix caching is off (CONFIG_VLLM_ENABLE_PREFIX_CACHING), so no KV is kept to offload or reuse');
    const dir = await EngineDirectory.read(ctx);
    const engine = dir.engines[0];
    if (!engine) return skip('no engine runs');
    const counters = (await dir.counters(ctx)).get(engine.id);
    if (!counters || counters.gpuBlocks === null || counters.blockSize === null) return skip(`${engine.id} does not export vllm:cache_config_info, so the workload cannot be sized to its KV cache`);
    const capacity = counters.gpuBlocks * counters.blockSize;
    // Word count stands for tokens; real tokenizers give somewhat more, which only overflows further.
    // Prompts short enough that the engine's full batch (max-num-seqs) pins at most a quarter of its GPU tier,
    // so that the passes run at full concurrency: the working set's prefill time is fixed, only concurrency cuts it.
    // But at least 8 blocks: KV is cached and offloaded in whole blocks, so a prompt of one or two blocks
    // loses most of itself to its partial last block and its TTFT is overhead, not prefill.
    const minWords = 8 * counters.blockSize;
    const promptWords = Math.max(minWords, Math.min(1500, ctx.expect.maxModelLen - 64, Math.floor(capacity / 8), Math.floor(capacity / (4 * ctx.expect.maxNumSeqs))));
    const users = Math.ceil((OVERFLOW * capacity) / promptWords);
    if (users > MAX_USERS) return skip(`${engine.id}'s GPU tier holds ${capacity} tokens; overflowing it needs ${users} prompts of ${promptWords} tokens, more than this suite sends (${MAX_USERS})`);
    return cases(new Workload(ctx, engine, dir, Math.max(users, 4), promptWords, capacity, runNonce()));
  },
};
