// faults: what clients see when a part of the stack fails, measured and
// bounded. An engine killed under load (the router fails over; streams on
// it end cleanly, never hang; it rejoins once restarted), a router restart
// (the outage clients see), an engine answering 500s and one that hangs
// (simulator only: they need its failure injection), and an overload past
// the router's admission limit (429 with Retry-After, memory back after).
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { EngineDirectory, NO_INJECTION, restoreOf, setSim, simSettings } from './engines.js';
import { deltas, readCounters } from './engine-metrics.js';
import { pool } from './batch.js';
import { Load, describeFailures, sleep, within, type LoadRequest } from './load.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce, words } from './text.js';
import type { StreamResult } from './http.js';

/** How long a killed engine may take to serve again once restarted (the router's health back-off is at most 30 s). */
const REJOIN_BOUND_S = 40;
/** The longest router outage a restart may cause. */
const OUTAGE_BOUND_S = 30;
/** The hung-engine case waits the router's request timeout; longer ones are not waited for. */
export const MAX_HANG_WAIT_S = 30;
/** The overload case opens the router's limit plus some connections; larger limits are not tried. */
export const MAX_OVERLOAD = 1024;
/** Router memory after an overload may exceed what it was before by this much. */
const MEMORY_SLACK_BYTES = 48 * 1024 * 1024;
/** How much slower a token is when an engine runs a full batch (the simulator's default load factor). */
const FULL_BATCH_SLOWDOWN = 1.5;

const round = (x: number | null, d = 2) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

function steady(ctx: SuiteContext, nonce: string, tag: string): (i: number) => LoadRequest {
  return (i) => ({ path: '/v1/completions', body: { model: ctx.expect.model, prompt: `${tag} ${nonce} ${i}: ${words(`${tag}${nonce}${i}`, 8)}`, max_tokens: 8 } });
}

interface OpenStream {
  engine: string | null;
  done: Promise<StreamResult>;
}

/** Opens n long streams and waits until each has its headers (is running on an engine). */
async function openStreams(ctx: SuiteContext, dir: EngineDirectory, n: number, nonce: string, tokens: number): Promise<OpenStream[]> {
  const streams: OpenStream[] = [];
  await Promise.all(Array.from({ length: n }, (_, k) => new Promise<void>((admitted) => {
    const s: OpenStream = { engine: null, done: Promise.resolve(null as unknown as StreamResult) };
    s.done = ctx.http.stream(`${ctx.stack.routerUrl}/v1/completions`, { model: ctx.expect.model, prompt: `stream ${nonce} ${k}: ${words(`${nonce}s${k}`, 8)}`, max_tokens: tokens, ignore_eos: true }, {
      timeoutMs: 60_000, signal: ctx.signal,
      onHeaders: (h) => {
        s.engine = dir.servedBy(h);
        admitted();
      },
    }).finally(admitted);
    streams.push(s);
  })));
  return streams;
}

function killCase(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  // Load before the kill and after the rejoin.
  const margin = Math.max(300, (ctx.params.caseSeconds * 1000) / 4);
  return {
    name: 'engine killed under load',
    expectation: `kill -9 one of ${dir.engines.length} engines under ${ctx.params.loadRate} requests/s: no failed non-streaming request (the router fails over); its streams end with an error or a closed connection, none hangs; restarted, it serves again within ${REJOIN_BOUND_S} s`,
    async run(c: CaseRun) {
      if (dir.engines.length < 2) c.skip(`failover needs 2 or more engines; the node runs ${dir.engines.length}`);
      if (!dir.attributable) c.skip('cannot tell which engine runs each stream: the engines send no x-engine-instance-id');
      const load = Load.start(ctx, dir, steady(ctx, nonce, 'kill'), { rate: ctx.params.loadRate, timeoutMs: 60_000 });
      try {
        const streams = await openStreams(ctx, dir, 2 * dir.engines.length, nonce, 300);
        await sleep(margin, ctx.signal);
        const counts = new Map<string, number>();
        for (const s of streams) if (s.engine) counts.set(s.engine, (counts.get(s.engine) ?? 0) + 1);
        const victim = [...dir.engines].reverse().find((e) => counts.has(e.id)) ?? (dir.engines.at(-1) as EngineInfo);
        const tKill = load.now();
        await c.perturb(`${victim.id} killed (SIGKILL)`, () => ctx.stack.stopEngine(victim.id, 'kill'), {
          what: `${victim.id} started again`,
          run: async () => {
            if (!(await ctx.stack.engines()).find((e) => e.id === victim.id)?.running) await ctx.stack.startEngine(victim.id);
          },
        });
        // Restarted soon, so that the router's first health check after the ejection (at 1 s, then 3 s) can find it.
        await sleep(300, ctx.signal);
        const restartAt = performance.now();
        await c.restoreNow();
        // What comes back: the victim restarted under its own id (local), or a replacement under a new one (a
        // Deployment's new pod on Kubernetes); a replacement counts from zero.
        const comeback = async () => (await ctx.stack.engines()).filter((e) => e.running && (e.id === victim.id || !dir.ids.includes(e.id)));
        const base = (await readCounters(ctx.http, await comeback())).get(victim.id)?.succeeded ?? 0;
        let rejoin: number | null = null;
        while (performance.now() - restartAt < REJOIN_BOUND_S * 1000 && !ctx.signal.aborted) {
          const now = await readCounters(ctx.http, await comeback());
          if ([...now].some(([id, n]) => n.succeeded > (id === victim.id ? base : 0))) {
            rejoin = (performance.now() - restartAt) / 1000;
            break;
          }
          await sleep(100, ctx.signal);
        }
        await sleep(margin, ctx.signal);
        const samples = await load.stop();
        const ended = await Promise.all(streams.map(async (s) => ({ engine: s.engine, r: await s.done })));
        const failed = samples.filter((s) => !s.ok);
        const afterKill = within(samples, tKill, Infinity);
        const disturbed = afterKill.filter((s) => !s.ok || (s.attempts ?? 1) > 1);
        const ejectS = disturbed.length > 0 ? (Math.max(...disturbed.map((s) => s.sent)) - tKill) / 1000 : 0;
        const onVictim = ended.filter((s) => s.engine === victim.id);
        const hung = ended.filter((s) => s.r.end === 'timeout');
        const endings: Record<string, number> = {};
        for (const s of onVictim) endings[s.r.end] = (endings[s.r.end] ?? 0) + 1;
        const otherCut = ended.filter((s) => s.engine !== victim.id && s.r.end !== 'done');
        c.measure({
          victim: victim.id, requests: samples.length, failed: failed.length, retried: afterKill.filter((s) => (s.attempts ?? 1) > 1).length,
          eject_s: round(ejectS), rejoin_s: round(rejoin), streams: ended.length, streams_on_victim: onVictim.length, victim_stream_endings: endings, streams_hung: hung.length,
        });
        c.summary = `${failed.length}/${samples.length} failed, ${onVictim.length} streams cut (${Object.entries(endings).map(([k, v]) => `${v} ${k}`).join(', ')}), eject ${round(ejectS)} s, rejoin ${rejoin === null ? 'never' : `${round(rejoin)} s`}`;
        c.check(failed.length === 0, `${failed.length} of ${samples.length} non-streaming requests failed (${describeFailures(failed)}): the router did not fail over to the other engines`);
        c.check(hung.length === 0, `${hung.length} streams never ended: a client on a dead engine was left hanging`);
        c.check(onVictim.length > 0, `no stream was running on ${victim.id} when it was killed, so cut streams were not tested`);
        c.check(otherCut.length === 0, `${otherCut.length} streams on engines that stayed up did not finish (${otherCut[0]?.r.error ?? ''})`);
        c.check(rejoin !== null, `neither ${victim.id} restarted nor a replacement served a request within ${REJOIN_BOUND_S} s: the router did not take it back`);
      } finally {
        await load.stop();
      }
    },
  };
}

function routerRestartCase(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  const half = Math.max(500, (ctx.params.caseSeconds * 1000) / 2);
  return {
    name: 'router restart',
    expectation: `restart the router under ${ctx.params.loadRate} requests/s: clients see an outage of at most ${OUTAGE_BOUND_S} s, then every request succeeds again`,
    async run(c: CaseRun) {
      const restart = ctx.stack.restartRouter?.bind(ctx.stack);
      if (!restart) c.skip('this stack handle cannot restart its router');
      if (ctx.expect.routingLogic === null) c.skip('the node runs no router');
      const load = Load.start(ctx, dir, steady(ctx, nonce, 'restart'), { rate: ctx.params.loadRate, timeoutMs: 60_000 });
      let samples;
      try {
        await sleep(half, ctx.signal);
        const t0 = load.now();
        await c.perturb('router restarted (SIGTERM, then started with the same settings)', restart, { what: 'router serving again', run: async () => {} });
        const back = load.now();
        await sleep(half, ctx.signal);
        samples = await load.stop();
        const failed = samples.filter((s) => !s.ok);
        const outage = failed.length > 0 ? (Math.max(...failed.map((s) => s.ended)) - Math.min(...failed.map((s) => s.sent))) / 1000 : 0;
        const tail = samples.filter((s) => s.sent >= back + 200);
        const tailFailed = tail.filter((s) => !s.ok);
        c.measure({ requests: samples.length, failed: failed.length, outage_s: round(outage), restart_s: round((back - t0) / 1000), after_restart: tail.length, failed_after_restart: tailFailed.length });
        c.summary = `outage ${round(outage)} s, ${failed.length}/${samples.length} failed, restart took ${round((back - t0) / 1000)} s`;
        c.check(outage <= OUTAGE_BOUND_S, `clients saw an outage of ${round(outage)} s, more than ${OUTAGE_BOUND_S} s`);
        c.check(tail.length > 0 && tailFailed.length === 0, `${tailFailed.length} of ${tail.length} requests failed after the router was back (${describeFailures(tailFailed)}): it did not recover`);
      } finally {
        await load.stop();
      }
    },
  };
}

function sickCase(ctx: SuiteContext, start: EngineDirectory, nonce: string): CaseDefinition {
  const n = start.engines.length;
  const total = 12 * n;
  // As router/README.md documents: relayed, not retried; with --outlier-consecutive-5xx K, ejected after K in a row.
  const outlier = ctx.expect.outlierConsecutive5xx ?? 0;
  return {
    name: 'engine answering 500',
    expectation: outlier > 0
      ? `one of the ${n} engines answers every request with 500: of ${total} requests (${n} at a time), at most ${outlier} + ${n} come back as OpenAI-shaped 500s before the router ejects it (--outlier-consecutive-5xx ${outlier}), then all succeed; none hangs`
      : `one of the ${n} engines answers every request with 500: of ${total} requests, those it got come back as OpenAI-shaped 500s (relayed, not retried: no outlier ejection), all others succeed, none hangs`,
    async run(c: CaseRun) {
      const dir = await EngineDirectory.read(ctx);
      const sick = dir.engines[0];
      if (!sick || dir.engines.length < 2) c.skip(`needs 2 or more engines; the node runs ${dir.engines.length}`);
      if (!dir.attributable) c.skip('cannot tell which engine answered: the engines send no x-engine-instance-id');
      const settings = await simSettings(ctx, sick);
      if (!settings) c.skip(NO_INJECTION);
      const change = { failureRate: 1, failureKinds: ['500'] };
      // An ejected outlier stays out for the router's ejection time; restarting the engine is a new engine to the router.
      const undo = outlier > 0
        ? { what: `${sick.id} restarted healthy (back in rotation before its outlier ejection would end)`, run: async () => {
          await ctx.stack.stopEngine(sick.id, 'graceful');
          await ctx.stack.startEngine(sick.id);
        } }
        : { what: `${sick.id} healthy again`, run: () => setSim(ctx, sick, restoreOf(settings, change)) };
      await c.perturb(`${sick.id} answers every request with 500`, () => setSim(ctx, sick, change), undo);
      const before = await dir.counters(ctx);
      const make = steady(ctx, nonce, 'sick');
      const sent = await pool(Array.from({ length: total }, (_, i) => i), n, async (i) => {
        const at = performance.now();
        const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, make(i).body, { timeoutMs: 30_000, signal: ctx.signal });
        return { at, status: r.status, engine: dir.servedBy(r.headers), message: (r.json as { error?: { message?: unknown } } | null)?.error?.message, timedOut: r.timedOut === true };
      }, ctx.signal);
      const d = deltas(before, await dir.counters(ctx));
      const errors = sent.filter((s) => s.status !== 200);
      const wrong = errors.filter((s) => s.status !== 500 || typeof s.message !== 'string');
      const fromHealthy = errors.filter((s) => s.engine !== sick.id);
      const hung = sent.filter((s) => s.timedOut);
      const lastError = Math.max(...errors.map((s) => s.at), -Infinity);
      const after = sent.filter((s) => s.at > lastError);
      c.measure({
        sick: sick.id, requests: total, errors: errors.length, error_share: round(errors.length / total), statuses: [...new Set(sent.map((s) => s.status))],
        outlier_consecutive_5xx: outlier, ok_after_last_error: after.length, sick_succeeded: d.get(sick.id)?.succeeded ?? null,
      });
      c.summary = `${errors.length}/${total} clients got 500 from ${sick.id}${outlier > 0 ? `, then ${after.length} succeeded` : ''}`;
      c.check(hung.length === 0, `${hung.length} requests got no answer within 30 s`);
      c.check(wrong.length === 0, `${wrong.length} errors were not OpenAI-shaped 500s (${wrong.map((s) => s.status).slice(0, 3).join(', ')})`);
      c.check(fromHealthy.length === 0, `${fromHealthy.length} errors came from engines that are healthy`);
      c.check(errors.length > 0, `no request reached ${sick.id}, so what clients see of a failing engine was not measured`);
      c.check((d.get(sick.id)?.succeeded ?? 0) === 0, `${sick.id}'s own counters show completed requests although it fails every one`);
      if (outlier > 0) c.check(errors.length <= outlier + n, `${errors.length} clients got 500 from ${sick.id}, more than ${outlier} in a row + ${n} in flight: the router did not eject it (--outlier-consecutive-5xx ${outlier})`);
    },
  };
}

function hangCase(ctx: SuiteContext, start: EngineDirectory, nonce: string): CaseDefinition {
  const timeout = ctx.expect.requestTimeoutS;
  const total = 4 * start.engines.length;
  return {
    name: 'engine that hangs',
    expectation: timeout === null
      ? 'a hung engine costs clients at most the router\'s request timeout, with 504'
      : `one of the ${start.engines.length} engines stops answering: each of its requests ends with 504 within the router's --request-timeout ${timeout} s (+1 s), all others succeed`,
    async run(c: CaseRun) {
      const dir = await EngineDirectory.read(ctx);
      const hung = dir.engines[0];
      if (!hung || dir.engines.length < 2) c.skip(`needs 2 or more engines; the node runs ${dir.engines.length}`);
      if (timeout === null) c.skip(`the ${ctx.expect.routerImpl ?? 'missing'} router has no request timeout`);
      if (timeout > MAX_HANG_WAIT_S) c.skip(`the router's request timeout is ${timeout} s (CONFIG_VLLM_ROUTER_REQUEST_TIMEOUT), longer than this case waits (${MAX_HANG_WAIT_S} s)`);
      const settings = await simSettings(ctx, hung);
      if (!settings) c.skip(NO_INJECTION);
      // Long enough to outlast the timeout, short enough that nothing is left behind for long.
      const change = { prefillOverhead: (timeout + 2) * 1000 };
      await c.perturb(`${hung.id} hangs ${timeout + 2} s before each answer`, () => setSim(ctx, hung, change), { what: `${hung.id} answering again`, run: () => setSim(ctx, hung, restoreOf(settings, change)) });
      const before = await dir.counters(ctx);
      const make = steady(ctx, nonce, 'hang');
      const sent = await Promise.all(Array.from({ length: total }, async (_, i) => {
        const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, make(i).body, { timeoutMs: (timeout + 10) * 1000, signal: ctx.signal });
        return { status: r.status, ms: r.ms, engine: dir.servedBy(r.headers) };
      }));
      const admitted = deltas(before, await dir.counters(ctx)).get(hung.id)?.admitted ?? 0;
      const timeouts = sent.filter((s) => s.status === 504);
      const late = sent.filter((s) => s.ms > (timeout + 1) * 1000);
      const others = sent.filter((s) => s.status !== 504);
      const bad = others.filter((s) => s.status !== 200);
      c.measure({ hung: hung.id, requests: total, admitted_by_hung: admitted, got_504: timeouts.length, slowest_504_s: round(Math.max(0, ...timeouts.map((s) => s.ms)) / 1000), request_timeout_s: timeout, other_failed: bad.length });
      c.summary = `${timeouts.length}/${total} got 504 after ≤ ${round(Math.max(0, ...timeouts.map((s) => s.ms)) / 1000)} s`;
      c.check(admitted > 0, `${hung.id} received none of the ${total} requests, so a hung engine was not tested`);
      c.check(timeouts.length === admitted, `${hung.id} took ${admitted} requests but ${timeouts.length} clients got 504`);
      c.check(late.length === 0, `${late.length} clients waited longer than the router's request timeout of ${timeout} s (+1 s), up to ${round(Math.max(...late.map((s) => s.ms), 0) / 1000)} s`);
      c.check(bad.length === 0, `${bad.length} requests to the other engines failed (${bad.map((s) => s.status).slice(0, 3).join(', ')})`);
    },
  };
}

function overloadCase(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  const limit = ctx.expect.maxConcurrency;
  const extra = limit === null ? 0 : Math.max(8, Math.ceil(limit / 8));
  return {
    name: 'overload past max-concurrency',
    expectation: limit === null
      ? 'requests beyond the router\'s concurrency limit get 429 with Retry-After'
      : `${limit + extra} streams at once against --max-concurrency ${limit}: the excess gets 429 with Retry-After, every admitted stream completes, router memory ends within ${MEMORY_SLACK_BYTES / 2 ** 20} MiB of its start`,
    async run(c: CaseRun) {
      if (limit === null) c.skip(`the ${ctx.expect.routerImpl ?? 'missing'} router has no concurrency limit`);
      if (limit > MAX_OVERLOAD) c.skip(`the router admits ${limit} requests at once (CONFIG_VLLM_ROUTER_MAX_CONCURRENCY), more than this case opens (${MAX_OVERLOAD})`);
      // Streams, which hold their slot at the router while they run and get their headers as soon as an
      // engine runs them. They run in waves of (engines × max-num-seqs); each must last long enough that the
      // first wave still runs when the last request arrives, and the waves queued behind it must start well
      // within the router's request timeout, or they would get 504 for a reason that is not overload.
      const probe = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, { model: ctx.expect.model, prompt: `probe ${nonce}`, max_tokens: 16, ignore_eos: true }, { timeoutMs: 30_000 });
      if (probe.status !== 200) return void c.check(false, `a probe request failed: ${probe.status ?? probe.error}`);
      const waves = Math.ceil(limit / (ctx.expect.maxNumSeqs * Math.max(1, dir.engines.length)));
      const timeoutMs = (ctx.expect.requestTimeoutS ?? 600) * 1000;
      const budgetMs = waves <= 1 ? 1_200 : Math.min(1_200, (timeoutMs * 0.3) / (waves - 1));
      if (budgetMs < 500) c.skip(`the router admits ${limit} requests, ${waves} times what the engines run at once; queued behind each other they would reach the router's request timeout of ${timeoutMs / 1000} s before the overload shows (CONFIG_VLLM_ROUTER_MAX_CONCURRENCY, CONFIG_VLLM_ROUTER_REQUEST_TIMEOUT)`);
      const perTokenMs = Math.max(0.2, probe.ms / 16) * FULL_BATCH_SLOWDOWN;
      const tokens = Math.max(8, Math.min(ctx.expect.maxModelLen - 64, Math.floor(budgetMs / perTokenMs)));
      const memory = ctx.stack.routerMemoryBytes?.bind(ctx.stack);
      const rssBefore = memory ? await memory() : null;
      const make = (i: number) => ({ model: ctx.expect.model, prompt: `burst ${nonce} ${i}`, max_tokens: tokens, ignore_eos: true });
      // The connections first (kept alive in this client's pool), so that the burst reaches the router at once: opening
      // them with it, through a port-forward or node port on a busy machine, spread it over more than the first
      // wave lasts, and the router never held more than its limit (seen on Kubernetes: 288 admitted of 288).
      await Promise.all(Array.from({ length: limit + extra }, () => ctx.http.get(`${ctx.stack.routerUrl}/health`, { timeoutMs: 10_000, signal: ctx.signal })));
      const sent = await Promise.all(Array.from({ length: limit + extra }, async (_, i) => {
        const r = await ctx.http.stream(`${ctx.stack.routerUrl}/v1/completions`, make(i), { timeoutMs: 120_000, signal: ctx.signal });
        return { status: r.status, done: r.end === 'done', retryAfter: r.headers['retry-after'], error: r.error };
      }));
      await sleep(500, ctx.signal);
      const rssAfter = memory ? await memory() : null;
      const refused = sent.filter((s) => s.status === 429);
      const noRetryAfter = refused.filter((s) => !s.retryAfter);
      const failed = sent.filter((s) => s.status !== 429 && !s.done);
      c.measure({
        limit, sent: sent.length, tokens_each: tokens, waves, refused_429: refused.length, admitted: sent.length - refused.length, admitted_failed: failed.length,
        router_rss_mib_before: rssBefore === null ? null : round(rssBefore / 2 ** 20, 1), router_rss_mib_after: rssAfter === null ? null : round(rssAfter / 2 ** 20, 1),
      });
      c.summary = `${refused.length} × 429, ${sent.length - refused.length - failed.length} streamed, ${failed.length} failed${rssBefore !== null && rssAfter !== null ? `, RSS ${round(rssBefore / 2 ** 20, 0)} → ${round(rssAfter / 2 ** 20, 0)} MiB` : ''}`;
      c.check(refused.length > 0, `none of ${sent.length} simultaneous requests got 429 although the limit is ${limit}`);
      c.check(refused.length <= extra, `${refused.length} requests got 429, more than the ${extra} beyond the limit of ${limit}: the router refuses requests it should admit`);
      c.check(noRetryAfter.length === 0, `${noRetryAfter.length} of the 429 answers have no Retry-After header`);
      c.check(failed.length === 0, `${failed.length} admitted requests failed (${failed.map((s) => s.error ?? s.status).slice(0, 3).join(', ')})`);
      if (rssBefore !== null && rssAfter !== null) c.check(rssAfter <= rssBefore + MEMORY_SLACK_BYTES, `router memory grew from ${round(rssBefore / 2 ** 20, 1)} to ${round(rssAfter / 2 ** 20, 1)} MiB and did not come back`);
    },
  };
}

export const faultsSuite: SuiteDefinition = {
  name: 'faults',
  async cases(ctx) {
    if (ctx.expect.pd) return [{ name: 'faults', expectation: 'failures of colocated engines', run: (c) => c.skip('the node disaggregates prefill: its engines are not interchangeable, so these cases do not apply; the pd suite kills a decode engine under load') }];
    // The engines at the start, for the expectations; the sick and hang cases look again when they run, since an
    // engine restarted by an earlier case is a new pod, with a new name, on Kubernetes.
    const dir = await EngineDirectory.read(ctx);
    const nonce = runNonce();
    return [killCase(ctx, dir, nonce), routerRestartCase(ctx, dir, nonce), sickCase(ctx, dir, nonce), hangCase(ctx, dir, nonce), overloadCase(ctx, dir, nonce)];
  },
};
