// pd: disaggregated prefill, proven from the engines' own counters. Every
// request through the router is prefilled on a prefill engine (which
// produces at most one token for it) and decoded on a decode engine (which
// finds the prompt's KV transferred and recomputes nothing); the time to
// first token includes a KV transfer the engines measured; and a decode
// engine killed under load fails over (or, the only one, fails its
// requests with the leg named, then serves again once restarted).
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { ENGINE_COUNTERS, SIM_PD_COUNTERS as PD } from '../vocabulary/engine-counters.js';
import { parseMetricsText, sumSamples } from '../vocabulary/prometheus-text.js';
import { EngineDirectory } from './engines.js';
import { pool } from './batch.js';
import { Load, describeFailures, sleep, within, type LoadRequest } from './load.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce, words } from './text.js';

/** Requests the split case sends: enough for every engine of small pools to take a share. */
const SPLIT_REQUESTS = 16;
const ANSWER_TOKENS = 8;
/** How long a killed decode engine may take to serve again once restarted (the router's health back-off is at most 30 s). */
const REJOIN_BOUND_S = 40;

const round = (x: number | null, d = 2) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

/** One engine's disaggregation counters (the simulator's engine_sim:pd_*, vLLM's own for the rest). */
export interface PdCounters {
  succeeded: number;
  generationTokens: number;
  prefillOnly: number;
  decodesWithKv: number;
  recomputed: number;
  transfers: number;
  transferSeconds: number;
}

export function pdCountersFrom(text: string): PdCounters {
  const samples = parseMetricsText(text, { unreadable: 'skip' });
  const sum = (...names: readonly string[]) => sumSamples(samples, names) ?? 0;
  return {
    succeeded: sum(...ENGINE_COUNTERS.requestSuccess),
    generationTokens: sum(...ENGINE_COUNTERS.generationTokens),
    prefillOnly: sum(PD.prefillOnly),
    decodesWithKv: sum(PD.decodesWithKv),
    recomputed: sum(PD.recomputed),
    transfers: sum(PD.transfers),
    transferSeconds: sum(PD.transferSeconds),
  };
}

function minus(a: PdCounters, b: PdCounters | undefined): PdCounters {
  const out = { ...a };
  if (!b) return out;
  for (const k of Object.keys(a) as (keyof PdCounters)[]) out[k] = a[k] >= b[k] ? a[k] - b[k] : a[k];
  return out;
}

function total(list: PdCounters[]): PdCounters {
  const out: PdCounters = { succeeded: 0, generationTokens: 0, prefillOnly: 0, decodesWithKv: 0, recomputed: 0, transfers: 0, transferSeconds: 0 };
  for (const c of list) for (const k of Object.keys(out) as (keyof PdCounters)[]) out[k] += c[k];
  return out;
}

export interface Pools {
  prefill: EngineInfo[];
  decode: EngineInfo[];
}

/** The pools, by the role each engine was deployed in (engine index locally, modelSpec on Kubernetes); null when one is colocated. */
export function poolsOf(engines: EngineInfo[]): Pools | null {
  const out: Pools = { prefill: [], decode: [] };
  for (const e of engines) {
    if (e.role === 'colocated') return null;
    out[e.role].push(e);
  }
  return out;
}

class PdProbe {
  constructor(readonly ctx: SuiteContext, readonly pools: Pools) {}

  async read(engines: EngineInfo[]): Promise<Map<string, PdCounters>> {
    const out = new Map<string, PdCounters>();
    await Promise.all(engines.map(async (e) => {
      const r = await this.ctx.http.get(e.metricsUrl, { timeoutMs: 2_000 });
      if (r.status === 200) out.set(e.id, pdCountersFrom(r.text));
    }));
    return out;
  }

  async snapshot(): Promise<{ prefill: Map<string, PdCounters>; decode: Map<string, PdCounters> }> {
    const [prefill, decode] = await Promise.all([this.read(this.pools.prefill), this.read(this.pools.decode)]);
    return { prefill, decode };
  }
}

interface Diff {
  prefill: Map<string, PdCounters>;
  decode: Map<string, PdCounters>;
}

function diff(before: Diff, after: Diff): Diff {
  const d = (a: Map<string, PdCounters>, b: Map<string, PdCounters>) => new Map([...a].map(([id, c]) => [id, minus(c, b.get(id))]));
  return { prefill: d(after.prefill, before.prefill), decode: d(after.decode, before.decode) };
}

/** Sends the requests through the router: half completions, half streamed chats, each with its usage. */
async function send(ctx: SuiteContext, prompts: string[], tokens: number): Promise<{ ok: number; wrongLength: number; failed: string[]; ttfts: number[] }> {
  const out = { ok: 0, wrongLength: 0, failed: [] as string[], ttfts: [] as number[] };
  await pool(prompts, 4, async (prompt, i) => {
    const common = { model: ctx.expect.model, max_tokens: tokens, ignore_eos: true };
    let completion: number | null = null;
    if (i % 2 === 0) {
      const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, { ...common, prompt }, { timeoutMs: 60_000, signal: ctx.signal });
      if (r.status !== 200) return void out.failed.push(r.error ?? `HTTP ${r.status}: ${r.text.slice(0, 160)}`);
      completion = (r.json as { usage?: { completion_tokens?: number } } | null)?.usage?.completion_tokens ?? null;
    } else {
      const r = await ctx.http.stream(`${ctx.stack.routerUrl}/v1/chat/completions`, { ...common, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true } }, { timeoutMs: 60_000, signal: ctx.signal });
      if (r.end !== 'done') return void out.failed.push(r.error ?? r.end);
      if (r.ttftMs !== null) out.ttfts.push(r.ttftMs);
      completion = (r.events.at(-1) as { usage?: { completion_tokens?: number } } | undefined)?.usage?.completion_tokens ?? null;
    }
    out.ok++;
    if (completion !== tokens) out.wrongLength++;
  }, ctx.signal);
  return out;
}

function splitCase(ctx: SuiteContext, probe: PdProbe, nonce: string): CaseDefinition {
  const { prefill, decode } = probe.pools;
  const sim = ctx.expect.engineKind === 'sim';
  return {
    name: 'every request prefilled on a prefill engine and decoded on a decode engine',
    expectation: `${SPLIT_REQUESTS} requests of ${ANSWER_TOKENS} tokens through the router: the ${prefill.length} prefill engine(s) serve each once with at most one token, the ${decode.length} decode engine(s) each once with the whole answer${sim ? ', every decode finding its prompt\'s KV transferred (none recomputed)' : ''}`,
    async run(c: CaseRun) {
      const before = await probe.snapshot();
      const prompts = Array.from({ length: SPLIT_REQUESTS }, (_, i) => `pd ${nonce} ${i}: ${words(`${nonce}/${i}`, 120)}`);
      const sent = await send(ctx, prompts, ANSWER_TOKENS);
      const d = diff(before, await probe.snapshot());
      const p = total([...d.prefill.values()]);
      const q = total([...d.decode.values()]);
      const perEngine = (m: Map<string, PdCounters>) => Object.fromEntries([...m].map(([id, x]) => [id, { requests: x.succeeded, tokens: x.generationTokens, prefill_only: x.prefillOnly, decodes_with_kv: x.decodesWithKv, recomputed: x.recomputed }]));
      c.measure({ requests: SPLIT_REQUESTS, answered: sent.ok, prefill_engines: perEngine(d.prefill), decode_engines: perEngine(d.decode) });
      c.summary = `prefill ${p.succeeded} req / ${p.generationTokens} tok, decode ${q.succeeded} req, ${q.decodesWithKv} with KV, ${q.recomputed} recomputed`;
      c.check(sent.failed.length === 0, `${sent.failed.length} of ${SPLIT_REQUESTS} requests failed (${sent.failed[0] ?? ''})`);
      c.check(sent.wrongLength === 0, `${sent.wrongLength} answers did not have ${ANSWER_TOKENS} tokens: the client got the prefill engine's one-token answer, not the decode engine's`);
      c.check(p.succeeded === SPLIT_REQUESTS, `the prefill engines served ${p.succeeded} requests, not ${SPLIT_REQUESTS}: requests skipped the prefill leg`);
      c.check(p.generationTokens <= p.succeeded, `the prefill engines produced ${p.generationTokens} tokens for ${p.succeeded} requests: more than one per request, so they decoded`);
      c.check(q.succeeded === SPLIT_REQUESTS, `the decode engines served ${q.succeeded} requests, not ${SPLIT_REQUESTS}`);
      c.check(q.generationTokens >= SPLIT_REQUESTS * ANSWER_TOKENS, `the decode engines produced ${q.generationTokens} tokens, fewer than the ${SPLIT_REQUESTS * ANSWER_TOKENS} asked`);
      if (sim) {
        c.check(p.prefillOnly === SPLIT_REQUESTS, `the prefill engines counted ${p.prefillOnly} prefill-only requests (engine_sim:pd_prefill_only_requests_total), not ${SPLIT_REQUESTS}`);
        c.check(q.decodesWithKv === SPLIT_REQUESTS && q.recomputed === 0, `${q.decodesWithKv} of ${SPLIT_REQUESTS} decodes found their KV transferred and ${q.recomputed} recomputed the prompt: the KV did not arrive`);
      }
      const idle = [...prefill, ...decode].filter((e) => ((d.prefill.get(e.id) ?? d.decode.get(e.id))?.succeeded ?? 0) === 0);
      c.check(idle.length === 0, `${idle.map((e) => e.id).join(', ')} served none of ${SPLIT_REQUESTS} requests: the router does not use every engine of each pool`);
    },
  };
}

function transferCase(ctx: SuiteContext, probe: PdProbe, nonce: string): CaseDefinition {
  const promptWords = Math.max(64, Math.min(1000, Math.floor(ctx.expect.maxModelLen / 2)));
  return {
    name: 'time to first token includes a measured KV transfer',
    expectation: `streamed prompts of ~${promptWords} tokens: the engines measure a KV transfer for each, and the median TTFT the client sees is at least the mean transfer time`,
    async run(c: CaseRun) {
      if (ctx.expect.engineKind !== 'sim') c.skip('the KV transfer time comes from the simulator\'s counters (engine_sim:pd_kv_transfer_seconds_total); vLLM with LMCache exports no such counter');
      const n = 8;
      const before = await probe.snapshot();
      const prompts = Array.from({ length: n }, (_, i) => `transfer ${nonce} ${i}: ${words(`${nonce}t${i}`, promptWords)}`);
      // Every other request is a stream: those are the ones whose TTFT is measured, so send twice as many.
      const sent = await send(ctx, prompts.flatMap((p) => [p, `${p} again`]), 2);
      const d = diff(before, await probe.snapshot());
      const all = total([...d.prefill.values(), ...d.decode.values()]);
      const requests = 2 * n;
      const meanMs = (all.transferSeconds * 1000) / requests;
      const ttfts = [...sent.ttfts].sort((a, b) => a - b);
      const median = ttfts.length > 0 ? (ttfts[Math.floor(ttfts.length / 2)] as number) : null;
      c.measure({ requests, transfers: all.transfers, transfer_ms_mean: round(meanMs), ttft_ms_median: round(median), prompt_words: promptWords });
      c.summary = `${all.transfers} transfers, ${round(meanMs)} ms each, TTFT median ${round(median)} ms`;
      c.check(sent.failed.length === 0, `${sent.failed.length} requests failed (${sent.failed[0] ?? ''})`);
      c.check(all.transfers >= requests, `the engines counted ${all.transfers} KV transfers for ${requests} requests`);
      c.check(all.transferSeconds > 0, 'the engines measured no KV transfer time');
      c.check(median !== null && median >= meanMs, `the median TTFT ${round(median)} ms is below the mean KV transfer ${round(meanMs)} ms: the first token did not wait for the KV`);
    },
  };
}

function killCase(ctx: SuiteContext, probe: PdProbe, dir: EngineDirectory, nonce: string): CaseDefinition {
  const decode = probe.pools.decode;
  const alone = decode.length < 2;
  const margin = Math.max(300, (ctx.params.caseSeconds * 1000) / 4);
  const next = (i: number): LoadRequest => ({ path: '/v1/completions', body: { model: ctx.expect.model, prompt: `kill ${nonce} ${i}: ${words(`${nonce}k${i}`, 16)}`, max_tokens: 8 } });
  return {
    name: 'decode engine killed under load',
    expectation: alone
      ? `kill -9 the only decode engine under ${ctx.params.loadRate} requests/s: requests fail with an error naming the decode leg, none hangs; restarted, it serves again within ${REJOIN_BOUND_S} s`
      : `kill -9 one of ${decode.length} decode engines under ${ctx.params.loadRate} requests/s: no failed non-streaming request (the router fails over to another decode engine); restarted, it serves again within ${REJOIN_BOUND_S} s`,
    async run(c: CaseRun) {
      const victim = decode.at(-1);
      if (!victim) c.skip('the node runs no decode engine');
      const load = Load.start(ctx, dir, next, { rate: ctx.params.loadRate, timeoutMs: 60_000 });
      try {
        await sleep(margin, ctx.signal);
        const tKill = load.now();
        await c.perturb(`${victim.id} killed (SIGKILL)`, () => ctx.stack.stopEngine(victim.id, 'kill'), {
          what: `${victim.id} started again`,
          run: async () => {
            if (!(await ctx.stack.engines()).find((e) => e.id === victim.id)?.running) await ctx.stack.startEngine(victim.id);
          },
        });
        await sleep(margin, ctx.signal);
        const restartAt = performance.now();
        await c.restoreNow();
        // What comes back: the victim restarted under its own id (local), or a replacement decode engine under a
        // new one (the Deployment's new pod on Kubernetes), which counts from zero.
        const comeback = async () => (await ctx.stack.engines()).filter((e) => e.running && e.role === 'decode' && (e.id === victim.id || !dir.ids.includes(e.id)));
        const base = (await probe.read(await comeback())).get(victim.id)?.succeeded ?? 0;
        let rejoin: number | null = null;
        let back = victim.id;
        while (performance.now() - restartAt < REJOIN_BOUND_S * 1000 && !ctx.signal.aborted) {
          const serving = [...await probe.read(await comeback())].find(([id, n]) => n.succeeded > (id === victim.id ? base : 0));
          if (serving) {
            rejoin = (performance.now() - restartAt) / 1000;
            back = serving[0];
            break;
          }
          await sleep(100, ctx.signal);
        }
        await sleep(margin, ctx.signal);
        const samples = await load.stop();
        const failed = samples.filter((s) => !s.ok);
        const hung = samples.filter((s) => s.end === 'timeout');
        const unnamed = failed.filter((s) => !/decode leg/.test(s.error ?? ''));
        const afterRejoin = rejoin === null ? [] : within(samples, load.now() - margin, Infinity);
        c.measure({ victim: victim.id, ...(back !== victim.id ? { replacement: back } : {}), requests: samples.length, failed: failed.length, hung: hung.length, rejoin_s: round(rejoin), retried: within(samples, tKill, Infinity).filter((s) => (s.attempts ?? 1) > 1).length });
        c.summary = `${failed.length}/${samples.length} failed, rejoin ${rejoin === null ? 'never' : `${round(rejoin)} s`}`;
        c.check(hung.length === 0, `${hung.length} requests never ended while ${victim.id} was down`);
        if (alone) {
          c.check(unnamed.length === 0, `${unnamed.length} failed requests do not name the decode leg (${describeFailures(unnamed)})`);
        } else {
          c.check(failed.length === 0, `${failed.length} of ${samples.length} non-streaming requests failed (${describeFailures(failed)}): the router did not fail over to another decode engine`);
        }
        c.check(rejoin !== null, `${victim.id} served no request within ${REJOIN_BOUND_S} s of being restarted: the router did not take it back`);
        c.check(afterRejoin.every((s) => s.ok), `requests still failed after ${victim.id} rejoined (${describeFailures(afterRejoin.filter((s) => !s.ok))})`);
      } finally {
        await load.stop();
      }
    },
  };
}

export const pdSuite: SuiteDefinition = {
  name: 'pd',
  async cases(ctx) {
    const skip = (reason: string): CaseDefinition[] => [{ name: 'pd', expectation: 'requests split between prefill and decode engines', run: (c) => c.skip(reason) }];
    const pd = ctx.expect.pd;
    if (!pd) return skip('disaggregated prefill is off on this node (CONFIG_VLLM_PD_ENABLED, or CONFIG_VLLM_DEV_PD_ON for dev alone)');
    if (ctx.expect.routingLogic === null) return skip('the node runs no router to split requests');
    const dir = await EngineDirectory.read(ctx);
    const pools = poolsOf(dir.engines);
    if (!pools) return skip(`the stack runs colocated engines (${dir.engines.filter((e) => e.role === 'colocated').map((e) => e.id).join(', ')}), though this node is configured to disaggregate: deploy it again (make vllm)`);
    if (pools.prefill.length === 0 || pools.decode.length === 0) return skip(`the node runs ${pools.prefill.length} prefill and ${pools.decode.length} decode engine(s); the suite needs one of each`);
    const probe = new PdProbe(ctx, pools);
    const nonce = runNonce();
    return [splitCase(ctx, probe, nonce), transferCase(ctx, probe, nonce), killCase(ctx, probe, dir, nonce)];
  },
};
