// lora: LoRA adapters through the router, measured from the engines' own
// counters and model lists. Every configured adapter is listed (once, with
// the base model as parent) and answered; requests for an adapter land only
// on engines whose own /v1/models lists it; an adapter loaded on one engine
// at run time is routed to within the router's models re-read interval (+5 s)
// and only there; once unloaded it is 404 and reaches no engine; the base
// model is answered throughout. Requests go one at a time, so that an
// engine's counters tell whose they were even where it has no per-adapter
// counter (real vLLM: its request counter then counts this suite alone).
import { adapterEngineCount } from '../config/lora.js';
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { engineHeaders } from './engines.js';
import { ENGINE_COUNTERS, SIM_LORA_COUNTERS } from '../vocabulary/engine-counters.js';
import { parseMetricsText } from '../vocabulary/prometheus-text.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce } from './text.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** The simulator's per-adapter request counter; vLLM has none. */
const PER_ADAPTER = SIM_LORA_COUNTERS.requests;
/** Beyond the router's models re-read interval, how long a runtime change may take to show. */
const SLACK_S = 5;
const POLL_MS = 200;
const REQUEST_TIMEOUT_MS = 30_000;

export const LORA_OFF = 'LoRA is off on this node (CONFIG_VLLM_LORA_ENABLED is not set): there are no adapters to check; the +lora fragment turns it on';

interface Reading {
  perAdapter: boolean;
  byAdapter: Map<string, number>;
  succeeded: number;
}

async function readEngine(ctx: SuiteContext, e: EngineInfo): Promise<Reading> {
  const r = await ctx.http.get(e.metricsUrl, { headers: engineHeaders(ctx), timeoutMs: 5_000, signal: ctx.signal });
  if (r.status !== 200) throw new Error(`${e.id}: /metrics answered ${r.status ?? r.error}`);
  const byAdapter = new Map<string, number>();
  let succeeded = 0;
  for (const s of parseMetricsText(r.text, { unreadable: 'skip' })) {
    if (s.name === PER_ADAPTER && s.labels.lora_name) byAdapter.set(s.labels.lora_name, (byAdapter.get(s.labels.lora_name) ?? 0) + s.value);
    if ((ENGINE_COUNTERS.requestSuccess as readonly string[]).includes(s.name)) succeeded += s.value;
  }
  return { perAdapter: r.text.includes(PER_ADAPTER), byAdapter, succeeded };
}

type Readings = Map<string, Reading>;

async function readAll(ctx: SuiteContext, engines: EngineInfo[]): Promise<Readings> {
  return new Map(await Promise.all(engines.map(async (e) => [e.id, await readEngine(ctx, e)] as const)));
}

/** Requests for `adapter` each engine served between two readings (its request counter where it has no per-adapter one). */
function landed(before: Readings, after: Readings, adapter: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, a] of after) {
    const b = before.get(id);
    if (!b) continue;
    out[id] = a.perAdapter ? (a.byAdapter.get(adapter) ?? 0) - (b.byAdapter.get(adapter) ?? 0) : a.succeeded - b.succeeded;
  }
  return out;
}

/** The adapters an engine lists itself (ids of its /v1/models with a parent). */
async function engineAdapters(ctx: SuiteContext, e: EngineInfo): Promise<Set<string>> {
  const r = await ctx.http.get(`${e.url}/v1/models`, { headers: engineHeaders(ctx), timeoutMs: 5_000, signal: ctx.signal });
  const data = (r.json as { data?: { id?: unknown; parent?: unknown }[] } | null)?.data;
  if (r.status !== 200 || !Array.isArray(data)) throw new Error(`${e.id}: /v1/models answered ${r.status ?? r.error}`);
  return new Set(data.filter((m) => typeof m.id === 'string' && typeof m.parent === 'string' && m.parent !== '').map((m) => m.id as string));
}

class LoraRun {
  baseFailures: string[] = [];
  baseSent = 0;
  readonly adapter = `lora-suite-${runNonce()}`;

  constructor(readonly ctx: SuiteContext) {}

  complete(model: string) {
    return this.ctx.http.post(`${this.ctx.stack.routerUrl}/v1/completions`, { model, prompt: `lora suite asks ${model}`, max_tokens: 2 }, { timeoutMs: REQUEST_TIMEOUT_MS, signal: this.ctx.signal });
  }

  /** One base-model request, its failure kept for the last case. */
  async base(): Promise<void> {
    this.baseSent++;
    const r = await this.complete(this.ctx.expect.model);
    if (r.status !== 200) this.baseFailures.push(`${r.status ?? r.error}`);
  }

  async engines(): Promise<EngineInfo[]> {
    return (await this.ctx.stack.engines()).filter((e) => e.running && e.ready);
  }

  get boundS(): number {
    return (this.ctx.expect.lora?.modelsRereadS ?? 0) + SLACK_S;
  }

  /** Polls the router until the adapter answers `status`, a base request beside each poll; seconds it took, or null past the bound. */
  async untilStatus(status: number): Promise<number | null> {
    const start = performance.now();
    for (;;) {
      const r = await this.complete(this.adapter);
      await this.base();
      const s = (performance.now() - start) / 1000;
      if (r.status === status) return Math.round(s * 100) / 100;
      if (s > this.boundS || this.ctx.signal.aborted) return null;
      await sleep(POLL_MS);
    }
  }

  async load(c: CaseRun, engine: EngineInfo): Promise<void> {
    const { ctx } = this;
    await c.perturb(`loaded adapter ${this.adapter} on ${engine.id}`, async () => {
      const r = await ctx.http.post(`${engine.url}/v1/load_lora_adapter`, { lora_name: this.adapter, lora_path: `/adapters/${this.adapter}` }, { headers: engineHeaders(ctx), timeoutMs: REQUEST_TIMEOUT_MS, signal: ctx.signal });
      if (r.status !== 200) throw new Error(`${engine.id} refused to load ${this.adapter}: ${r.status ?? r.error} ${r.text.slice(0, 200)}`);
    }, {
      what: `unloaded ${this.adapter} from ${engine.id}`,
      run: async () => {
        const r = await ctx.http.post(`${engine.url}/v1/unload_lora_adapter`, { lora_name: this.adapter }, { headers: engineHeaders(ctx), timeoutMs: REQUEST_TIMEOUT_MS });
        // 404: the case unloaded it itself.
        if (r.status !== 200 && r.status !== 404) throw new Error(`${engine.id} answered ${r.status ?? r.error}`);
      },
    });
  }
}

function cases(run: LoraRun): CaseDefinition[] {
  const { ctx } = run;
  const lora = ctx.expect.lora ?? null;
  const plan = lora?.plan ?? null;
  const off = (c: CaseRun) => {
    if (plan === null) c.skip(LORA_OFF);
    if (ctx.expect.routingLogic === null) c.skip('this node runs no router (CONFIG_VLLM_ROUTER_ENABLED): the suite tests how a router routes adapters');
  };
  const runtime = (c: CaseRun) => {
    off(c);
    if (!plan?.runtimeUpdating) c.skip('runtime loading is off on this node (CONFIG_VLLM_LORA_RUNTIME_UPDATING): the engines have no load or unload route');
  };
  return [{
    name: 'configured adapters are listed and answered',
    expectation: `the router's /v1/models lists each of ${plan?.adapters.length ?? 0} configured adapters once with parent ${ctx.expect.model}, and each answers a completion through the router`,
    async run(c) {
      off(c);
      const r = await ctx.http.get(`${ctx.stack.routerUrl}/v1/models`, { timeoutMs: 5_000, signal: ctx.signal });
      const data = ((r.json as { data?: { id?: unknown; parent?: unknown }[] } | null)?.data ?? []);
      const problems: string[] = [];
      let answered = 0;
      for (const a of plan?.adapters ?? []) {
        const cards = data.filter((m) => m.id === a.name);
        if (cards.length !== 1) problems.push(`${a.name} listed ${cards.length} times`);
        else if (cards[0]?.parent !== ctx.expect.model) problems.push(`${a.name} has parent ${JSON.stringify(cards[0]?.parent)}`);
        const res = await run.complete(a.name);
        if (res.status === 200 && (res.json as { model?: unknown } | null)?.model === a.name) answered++;
        else problems.push(`${a.name} answered ${res.status ?? res.error}`);
      }
      c.measure({ adapters: plan?.adapters.map((a) => a.name), listed_models: data.length, answered });
      c.summary = `${answered}/${plan?.adapters.length} adapters answered`;
      c.check(problems.length === 0, `through the router: ${problems.join('; ')}`);
    },
  }, {
    name: 'adapter requests land only on engines holding the adapter',
    expectation: 'each adapter is listed by as many engines as configured, and every request for it lands on one of them (engine counters)',
    async run(c) {
      off(c);
      const engines = await run.engines();
      const holders = new Map(await Promise.all(engines.map(async (e) => [e.id, await engineAdapters(ctx, e)] as const)));
      const per: Record<string, unknown> = {};
      let wrong = 0;
      for (const a of plan?.adapters ?? []) {
        const holding = engines.filter((e) => holders.get(e.id)?.has(a.name)).map((e) => e.id);
        if (engines.length === lora?.replicas) {
          const want = adapterEngineCount(a, engines.length);
          c.check(holding.length === want, `${a.name} is on ${holding.length} engine(s) (${holding.join(', ') || 'none'}), configured for ${want}`);
        }
        const n = Math.max(4, 2 * holding.length);
        const before = await readAll(ctx, engines);
        let ok = 0;
        for (let i = 0; i < n; i++) if ((await run.complete(a.name)).status === 200) ok++;
        const where = landed(before, await readAll(ctx, engines), a.name);
        const astray = Object.entries(where).filter(([id, k]) => k > 0 && !holding.includes(id));
        wrong += astray.reduce((s, [, k]) => s + k, 0);
        per[a.name] = { holders: holding, sent: n, answered: ok, landed: where };
        c.check(ok === n, `${a.name}: ${n - ok} of ${n} requests failed`);
        c.check(astray.length === 0, `${a.name}: requests reached ${astray.map(([id, k]) => `${id} (${k})`).join(', ')}, which do not hold it`);
      }
      c.measure({ adapters: per, requests_on_other_engines: wrong });
      c.summary = `${wrong} requests on engines without their adapter`;
    },
  }, {
    name: 'an adapter loaded at run time is routed to within the bound, and only there',
    expectation: 'an adapter loaded on one engine (its own load route, as a LoRA controller does) answers through the router within the models re-read interval + 5 s, and only that engine serves it',
    async run(c) {
      runtime(c);
      const engines = await run.engines();
      const target = engines.at(-1) as EngineInfo;
      await run.load(c, target);
      const after = await run.untilStatus(200);
      c.measure({ engine: target.id, routable_after_s: after, bound_s: run.boundS });
      if (!c.check(after !== null, `${run.adapter}, loaded on ${target.id}, was not routed to within ${run.boundS} s`)) return;
      const before = await readAll(ctx, engines);
      let ok = 0;
      for (let i = 0; i < 6; i++) if ((await run.complete(run.adapter)).status === 200) ok++;
      const where = landed(before, await readAll(ctx, engines), run.adapter);
      c.measure({ sent: 6, answered: ok, landed: where });
      c.summary = `routable after ${after} s (bound ${run.boundS} s)`;
      c.check(ok === 6 && where[target.id] === 6, `of 6 requests ${ok} answered, ${where[target.id] ?? 0} served by ${target.id}: ${JSON.stringify(where)}`);
    },
  }, {
    name: 'an unloaded adapter is 404 and reaches no engine',
    expectation: 'after the unload (through this router, which re-reads at once; else on the engine) requests for the adapter get the OpenAI 404 within the bound, and no engine counts one',
    async run(c) {
      runtime(c);
      const engines = await run.engines();
      const target = engines.at(-1) as EngineInfo;
      await run.load(c, target);
      if (!c.check((await run.untilStatus(200)) !== null, `${run.adapter} was never routable, so its unload cannot be tested`)) return;
      // This project's router relays the unload to the engine named by ?id= and drops the adapter at once.
      let via = 'engine';
      if (ctx.expect.routerImpl === 'builtin') {
        const listed = (await ctx.http.get(`${ctx.stack.routerUrl}/engines`, { timeoutMs: 5_000 })).json as { engines?: { id: string; url: string }[] } | null;
        const id = listed?.engines?.find((e) => e.url.replace(/\/+$/, '') === target.url.replace(/\/+$/, ''))?.id;
        if (id !== undefined) {
          via = 'router';
          const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/unload_lora_adapter?id=${encodeURIComponent(id)}`, { lora_name: run.adapter }, { timeoutMs: REQUEST_TIMEOUT_MS });
          c.check(r.status === 200, `the unload through the router answered ${r.status ?? r.error}`);
        }
      }
      if (via === 'engine') {
        const r = await ctx.http.post(`${target.url}/v1/unload_lora_adapter`, { lora_name: run.adapter }, { headers: engineHeaders(ctx), timeoutMs: REQUEST_TIMEOUT_MS });
        c.check(r.status === 200, `the unload on ${target.id} answered ${r.status ?? r.error}`);
      }
      const gone = await run.untilStatus(404);
      c.measure({ unloaded_through: via, gone_after_s: gone, bound_s: run.boundS });
      if (!c.check(gone !== null, `${run.adapter} still answered ${run.boundS} s after its unload`)) return;
      const before = await readAll(ctx, engines);
      const answers: (number | null)[] = [];
      let shaped = 0;
      for (let i = 0; i < 5; i++) {
        const r = await run.complete(run.adapter);
        answers.push(r.status);
        const e = (r.json as { error?: { message?: unknown; code?: unknown } } | null)?.error;
        if (typeof e?.message === 'string' && e.code !== undefined) shaped++;
      }
      const after = await readAll(ctx, engines);
      const reached = Object.entries(landed(before, after, run.adapter)).filter(([, k]) => k > 0);
      c.measure({ answers, openai_errors: shaped, reached_engines: Object.fromEntries(reached) });
      c.summary = `404 after ${gone} s, ${reached.length} engines reached`;
      c.check(answers.every((s) => s === 404) && shaped === 5, `after the unload requests got ${answers.join(', ')} (${shaped} OpenAI-shaped errors)`);
      c.check(reached.length === 0, `requests for the unloaded adapter reached ${reached.map(([id, k]) => `${id} (${k})`).join(', ')}`);
    },
  }, {
    name: 'the base model is answered throughout',
    expectation: 'every base-model request of this suite (beside each runtime poll, and 8 more now) answers 200, and the engines count each one',
    async run(c) {
      off(c);
      const engines = await run.engines();
      const before = await readAll(ctx, engines);
      const failuresBefore = run.baseFailures.length;
      for (let i = 0; i < 8; i++) await run.base();
      const after = await readAll(ctx, engines);
      const counted = [...after].reduce((s, [id, a]) => s + a.succeeded - (before.get(id)?.succeeded ?? a.succeeded), 0);
      c.measure({ base_requests: run.baseSent, base_failures: run.baseFailures.length, counted_by_engines_last_8: counted });
      c.summary = `${run.baseSent - run.baseFailures.length}/${run.baseSent} base requests answered`;
      c.check(run.baseFailures.length === 0, `base-model requests failed: ${run.baseFailures.slice(0, 5).join(', ')}`);
      c.check(run.baseFailures.length > failuresBefore || counted === 8, `the engines counted ${counted} of the last 8 base requests`);
    },
  }];
}

export const loraSuite: SuiteDefinition = {
  name: 'lora',
  async cases(ctx) {
    return cases(new LoraRun(ctx));
  },
};
