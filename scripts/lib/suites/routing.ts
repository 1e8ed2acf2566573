// routing: requests are spread or pinned as the node's routing logic
// promises, measured from the engines' own counters (response headers only
// say which engine served a request, and must agree with the counters).
// Every case also records per-engine requests, prefix-cache hit rate and
// load skew, the telemetry production-stack users ask for.
import { KEDA_OWNS_REPLICAS, type SuiteContext } from './context.js';
import { EngineDirectory, NO_INJECTION, restoreOf, setSim, simSettings } from './engines.js';
import { deltas, hitRate, loadSkew, type CounterDelta, type EngineCounters } from './engine-metrics.js';
import { checkAllOk, checkAttribution, complete, countBy, type Sent } from './batch.js';
import { Load, sleep } from './load.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce, shuffle, words } from './text.js';

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);
const round = (x: number | null, d = 3) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);

/** Per-engine requests and hit rates of one case, and max/mean of the requests. */
function telemetry(d: Map<string, CounterDelta>): Record<string, unknown> {
  const per_engine = Object.fromEntries([...d].map(([id, x]) => [id, { requests: x.succeeded, prefix_cache_hit_rate: round(hitRate(x), 4) }]));
  return { per_engine, load_skew: round(loadSkew([...d.values()].map((x) => x.succeeded))) };
}

async function measured<T>(ctx: SuiteContext, dir: EngineDirectory, work: () => Promise<T>): Promise<{ result: T; d: Map<string, CounterDelta> }> {
  const before = await dir.counters(ctx);
  const result = await work();
  const after = await dir.counters(ctx);
  return { result, d: deltas(before, after) };
}

const needAttribution = (c: CaseRun, dir: EngineDirectory) => {
  if (!dir.attributable) c.skip('cannot tell which engine served each request: the engines send no x-engine-instance-id naming themselves');
};

function roundRobin(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  const n = dir.engines.length;
  const total = 10 * n;
  return {
    name: 'round robin spread',
    expectation: `${total} requests land ${total / n} ± 1 on each of the ${n} engines (engine counters)`,
    async run(c: CaseRun) {
      const items = Array.from({ length: total }, (_, i) => ({ prompt: `rr ${nonce} ${i} ${words(`${nonce}${i}`, 6)}`, maxTokens: 2 }));
      const { result, d } = await measured(ctx, dir, () => complete(ctx, dir, items, n));
      const counts = Object.fromEntries([...d].map(([id, x]) => [id, x.succeeded]));
      c.measure({ requests: total, ...telemetry(d) });
      c.summary = Object.entries(counts).map(([id, k]) => `${id} ${k}`).join(', ');
      checkAllOk(c, result);
      for (const [id, k] of Object.entries(counts)) c.check(Math.abs(k - total / n) <= 1, `${id} served ${k} of ${total}, expected ${total / n} ± 1: the router does not rotate evenly`);
      if (dir.attributable) checkAttribution(c, result, d);
    },
  };
}

function sessions(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition[] {
  const n = dir.engines.length;
  const count = Math.max(12, 6 * n);
  const rounds = 3;
  const key = ctx.expect.sessionKey;
  const item = (s: string, r: number) => ({ session: s, prompt: `session ${s} round ${r}: ${words(`${s}/${r}`, 6)}`, maxTokens: 2, headers: { [key]: s } });
  const assignment = (sent: Sent<{ session: string }>[]) => {
    const seen = new Map<string, Set<string>>();
    for (const s of sent) if (s.engine) seen.set(s.item.session, (seen.get(s.item.session) ?? new Set()).add(s.engine));
    return seen;
  };
  const canScale = n + 1 <= ctx.expect.maxReplicas;
  return [{
    name: 'sessions stick',
    expectation: `${count} sessions × ${rounds} requests (${key}): each session's requests all on one engine, sessions on all ${n} engines`,
    async run(c: CaseRun) {
      needAttribution(c, dir);
      const ids = Array.from({ length: count }, (_, i) => `s-${nonce}-${i}`);
      // Shuffled, so that a rotation over the engines cannot keep a session on one engine by chance.
      const items = shuffle(Array.from({ length: rounds }, (_, r) => ids.map((s) => item(s, r))).flat(), nonce);
      const { result, d } = await measured(ctx, dir, () => complete(ctx, dir, items, 2 * n));
      const seen = assignment(result);
      const split = [...seen].filter(([, e]) => e.size > 1).map(([s]) => s);
      const perEngine = countBy([...seen.values()].filter((e) => e.size === 1), (e) => [...e][0] ?? null);
      c.measure({ sessions: count, split_sessions: split.length, sessions_per_engine: perEngine, ...telemetry(d) });
      c.summary = `${count - split.length}/${count} sticky, ${Object.entries(perEngine).map(([id, k]) => `${id} ${k}`).join(', ')}`;
      checkAllOk(c, result);
      checkAttribution(c, result, d);
      c.check(split.length === 0, `${split.length} of ${count} sessions were served by more than one engine (e.g. ${split[0] ?? ''})`);
      const idle = dir.ids.filter((id) => !perEngine[id]);
      c.check(idle.length === 0, `no session landed on ${idle.join(', ')}`);
    },
  }, {
    name: 'sessions on scale-up',
    expectation: `scaling ${n} → ${n + 1} engines moves at most 1/${n + 1} + ${Math.round(ctx.params.tolerance * 100)} points of 60 sessions, each to the new engine; scaled back to ${n} after`,
    async run(c: CaseRun) {
      needAttribution(c, dir);
      if (ctx.expect.kedaScaled) c.skip(KEDA_OWNS_REPLICAS);
      if (!canScale) c.skip(`the node may not run ${n + 1} engines (CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS is ${ctx.expect.maxReplicas})`);
      const ids = Array.from({ length: 60 }, (_, i) => `m-${nonce}-${i}`);
      const before = await complete(ctx, dir, ids.map((s) => item(s, 0)), 2 * n);
      checkAllOk(c, before);
      await c.perturb(`scaled ${n} → ${n + 1} engines`, () => ctx.stack.scale(n + 1), { what: `scaled back to ${n}`, run: () => ctx.stack.scale(n) });
      const bigger = await EngineDirectory.read(ctx);
      const added = bigger.ids.filter((id) => !dir.ids.includes(id));
      const after = await complete(ctx, bigger, ids.map((s) => item(s, 1)), 2 * n);
      checkAllOk(c, after);
      const was = new Map(before.map((s) => [s.item.session, s.engine]));
      const moved = after.filter((s) => s.engine !== was.get(s.item.session));
      const share = moved.length / ids.length;
      const bound = 1 / (n + 1) + ctx.params.tolerance;
      const elsewhere = moved.filter((s) => !added.includes(s.engine ?? ''));
      c.measure({ sessions: ids.length, moved: moved.length, moved_share: round(share), bound: round(bound), new_engine: added, moved_elsewhere: elsewhere.length });
      c.summary = `${moved.length}/${ids.length} moved (${pct(share)}, bound ${pct(bound)})`;
      c.check(share <= bound, `${moved.length} of ${ids.length} sessions moved (${pct(share)}), more than 1/${n + 1} + tolerance = ${pct(bound)}: the session hash is not consistent`);
      c.check(elsewhere.length === 0, `${elsewhere.length} sessions moved between old engines rather than to the new one (${added.join(', ')})`);
    },
  }];
}

interface PrefixSizing {
  users: number;
  prefixWords: number;
  followUps: number;
}

/** Users and prefix length such that the whole workload fills at most half of each engine's KV cache. */
function prefixSizing(ctx: SuiteContext, engines: number, counters: Map<string, EngineCounters>): PrefixSizing | string {
  const capacities = [...counters.values()].map((k) => (k.gpuBlocks !== null && k.blockSize !== null ? k.gpuBlocks * k.blockSize : null));
  if (capacities.length === 0 || capacities.some((x) => x === null)) return 'the engines do not export vllm:cache_config_info, so the workload cannot be sized to their KV cache';
  const capacity = Math.min(...(capacities as number[]));
  const users = Math.max(4, 3 * engines);
  // Word count stands for tokens; real tokenizers give a few more, hence the margin.
  const prefixWords = Math.min(600, Math.floor((capacity * 0.5) / Math.ceil(users / engines) / 1.5), ctx.expect.maxModelLen - 100);
  if (prefixWords < 64) return `the engines' KV cache holds ${capacity} tokens, too few for ${users} users with distinct prefixes of at least 64 tokens`;
  return { users, prefixWords, followUps: 3 };
}

function prefixAware(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  const n = dir.engines.length;
  const tol = ctx.params.tolerance;
  return {
    name: 'prefix affinity',
    expectation: `users with long distinct prefixes: follow-ups on the engine of the user's first request (≥ 95 %); engine prefix-cache hit rate ≥ (1 − ${Math.round(tol * 100)} %) × the workload's ceiling; first requests on all ${n} engines`,
    async run(c: CaseRun) {
      needAttribution(c, dir);
      if (!ctx.expect.prefixCaching) c.skip('prefix caching is off on the engines (CONFIG_VLLM_ENABLE_PREFIX_CACHING), so no hit rate can be measured');
      const before = await dir.counters(ctx);
      const sizing = prefixSizing(ctx, n, before);
      if (typeof sizing === 'string') c.skip(sizing);
      const { users, prefixWords, followUps } = sizing;
      const prefix = (u: number) => `user ${nonce} ${u}: ${words(`${nonce}:${u}`, prefixWords)}`;
      const first = Array.from({ length: users }, (_, u) => ({ user: u, prompt: prefix(u), maxTokens: 2 }));
      const cold = await complete(ctx, dir, first, n);
      const mid = await dir.counters(ctx);
      // Follow-ups in a shuffled order, so that no rotation of engines can meet each user's engine by chance.
      const follow = shuffle(Array.from({ length: followUps }, (_, f) => first.map(({ user }) => ({ user, prompt: `${prefix(user)} question ${f}: ${words(`${nonce}:${user}:${f}`, 8)}`, maxTokens: 2 }))).flat(), nonce);
      const warm = await complete(ctx, dir, follow, n);
      const after = await dir.counters(ctx);
      const d = deltas(before, after);
      const coldD = deltas(before, mid);
      checkAllOk(c, [...cold, ...warm]);
      checkAttribution(c, [...cold, ...warm], d);

      const home = new Map(cold.map((s) => [s.item.user, s.engine]));
      const stayed = warm.filter((s) => s.engine !== null && s.engine === home.get(s.item.user)).length;
      const affinity = stayed / warm.length;
      const prefixTokens = new Map(cold.map((s) => [s.item.user, Number(s.usage?.prompt_tokens ?? 0)]));
      const allPrompt = [...cold, ...warm].reduce((a, s) => a + Number(s.usage?.prompt_tokens ?? 0), 0);
      const repeated = warm.reduce((a, s) => a + (prefixTokens.get(s.item.user) ?? 0), 0);
      const ceiling = allPrompt > 0 ? repeated / allPrompt : 0;
      const totals = [...d.values()].reduce((a, x) => ({ prefixQueries: a.prefixQueries + x.prefixQueries, prefixHits: a.prefixHits + x.prefixHits }), { prefixQueries: 0, prefixHits: 0 });
      const rate = hitRate(totals);
      const coldPerEngine = Object.fromEntries([...coldD].map(([id, x]) => [id, x.succeeded]));
      c.measure({
        users, prefix_words: prefixWords, follow_ups: warm.length, affinity: round(affinity), hit_rate: round(rate, 4), ceiling: round(ceiling, 4),
        first_requests_per_engine: coldPerEngine, ...telemetry(d),
      });
      c.summary = `affinity ${pct(affinity)}, hit rate ${pct(rate)} of ceiling ${pct(ceiling)}`;
      c.check(affinity >= 0.95, `only ${stayed} of ${warm.length} follow-ups (${pct(affinity)}) reached the engine that served the user's first request; expected ≥ 95 %`);
      c.check(rate !== null && rate >= ceiling * (1 - tol), `the engines' prefix-cache hit rate is ${pct(rate)}, below ${pct(ceiling * (1 - tol))} (the workload's ceiling ${pct(ceiling)} less ${Math.round(tol * 100)} %)`);
      const idle = dir.ids.filter((id) => !coldPerEngine[id]);
      c.check(idle.length === 0, `no user's first request reached ${idle.join(', ')}: cold prompts are not spread`);
    },
  };
}

function leastLoaded(ctx: SuiteContext, dir: EngineDirectory, nonce: string): CaseDefinition {
  const n = dir.engines.length;
  const slow = dir.engines[0];
  const bound = (1 - 2 * ctx.params.tolerance) / n;
  return {
    name: 'slow engine avoided',
    expectation: `with ${slow?.id ?? 'one engine'} 4× slower, it serves at most ${pct(bound)} of ${ctx.params.caseSeconds} s of steady load (fair share ${pct(1 / n)})`,
    async run(c: CaseRun) {
      if (!slow) c.skip('no engine runs');
      const settings = await simSettings(ctx, slow);
      if (!settings) c.skip(NO_INJECTION);
      const change = { timeScale: Number(settings.timeScale ?? 1) * 4 };
      await c.perturb(`${slow.id} slowed 4× (timeScale ${change.timeScale})`, () => setSim(ctx, slow, change), { what: `${slow.id} speed restored`, run: () => setSim(ctx, slow, restoreOf(settings, change)) });
      // Let the router's next engine scrape see the slowed engine's queue before measuring.
      const { result, d } = await measured(ctx, dir, async () => {
        const load = Load.start(ctx, dir, (i) => ({ path: '/v1/completions', body: { model: ctx.expect.model, prompt: `ll ${nonce} ${i} ${words(`${nonce}${i}`, 6)}`, max_tokens: 16 } }), { concurrency: 4 * n });
        await sleep(ctx.params.caseSeconds * 1000, ctx.signal);
        return load.stop();
      });
      const total = [...d.values()].reduce((a, x) => a + x.succeeded, 0);
      const share = total > 0 ? (d.get(slow.id)?.succeeded ?? 0) / total : null;
      c.measure({ slowed: slow.id, requests: total, slow_share: round(share), bound: round(bound), ...telemetry(d) });
      c.summary = `${slow.id} served ${pct(share)} (bound ${pct(bound)})`;
      const failed = result.filter((s) => !s.ok).length;
      c.check(failed === 0, `${failed} of ${result.length} requests failed`);
      c.check(share !== null && share <= bound, `the slowed ${slow.id} served ${pct(share)} of ${total} requests, more than ${pct(bound)}: the router does not prefer less loaded engines`);
    },
  };
}

export const routingSuite: SuiteDefinition = {
  name: 'routing',
  async cases(ctx) {
    const logic = ctx.expect.routingLogic;
    const skipAll = (reason: string): CaseDefinition[] => [{ name: 'routing', expectation: 'requests spread or pinned as the routing logic promises', run: (c) => c.skip(reason) }];
    if (logic === null) return skipAll('the node runs no router (CONFIG_VLLM_ROUTER_ENABLED is off)');
    const dir = await EngineDirectory.read(ctx);
    if (dir.engines.length < 2) return skipAll(`routing needs 2 or more engines; the node runs ${dir.engines.length} (CONFIG_VLLM_REPLICA_COUNT)`);
    const nonce = runNonce();
    switch (logic) {
      case 'roundrobin': return [roundRobin(ctx, dir, nonce)];
      case 'session': return sessions(ctx, dir, nonce);
      case 'prefixaware': return [prefixAware(ctx, dir, nonce)];
      case 'leastloaded':
      case 'kvaware': return [leastLoaded(ctx, dir, nonce)];
      case 'disaggregated_prefill':
      case 'disaggregated_prefill_orchestrated': return skipAll('disaggregated prefill splits each request between a prefill and a decode pool: the pd suite checks that');
      default: return skipAll(`no routing cases for the routing logic "${logic}"`);
    }
  },
};
