// npm run bench:routing — how prefix-aware routing trades cache hits against
// load, measured from the engines' own counters on simulated engines with
// realistic latency. Two workloads:
//
// 1. production-stack's multi-round QA: users share a long system prompt,
//    each has its own context, and the chat history grows round by round.
//    Users arrive one after another, as in production-stack's benchmark, and
//    there are as many users as all engines can run at once (so one engine
//    alone would queue). Compared: round robin, the longest match
//    (--prefix-load-weight 0: production-stack's prefixaware) and this
//    router's prefixaware.
// 2. Users with distinct contexts and no shared prompt (7 users, 5 rounds,
//    4 engines): requests must spread (each engine 5–15 of 35) and hits stay
//    at the ceiling, the hit rate of the same workload on one engine.
//
// Printed per algorithm: the engines' prefix-cache hit rate
// (vllm:prefix_cache_hits_total / queries), requests per engine
// (vllm:request_success_total) and load skew (max / mean), and TTFT p50/p90
// at the client (first content chunk, monotonic clock), each as the mean
// of BENCH_RUNS runs ± half their range.
// Knobs (environment): BENCH_ENGINES (2), BENCH_USERS (4 per engine),
// BENCH_ROUNDS (6), BENCH_RUNS (2), BENCH_SYSTEM_WORDS (1000),
// BENCH_CONTEXT_WORDS (100), BENCH_QUESTION_WORDS (30), BENCH_ANSWER_TOKENS (32),
// BENCH_MAX_NUM_SEQS (4), BENCH_PREFILL_MS_PER_TOKEN (1), BENCH_ITL_MS (10),
// BENCH_STAGGER_MS (300).
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanUpOnSignal, percentile, table } from '../../test/support/measure.js';
import { ENGINE_SIM_MAIN, ROUTER_MAIN, startChildServer, type ChildServer } from '../../test/support/child-server.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ENGINES = env('BENCH_ENGINES', 2);
const MAX_NUM_SEQS = env('BENCH_MAX_NUM_SEQS', 4);
const USERS = env('BENCH_USERS', ENGINES * MAX_NUM_SEQS);
const ROUNDS = env('BENCH_ROUNDS', 6);
const RUNS = env('BENCH_RUNS', 2);
const SYSTEM_WORDS = env('BENCH_SYSTEM_WORDS', 1000);
const CONTEXT_WORDS = env('BENCH_CONTEXT_WORDS', 100);
const QUESTION_WORDS = env('BENCH_QUESTION_WORDS', 30);
const ANSWER_TOKENS = env('BENCH_ANSWER_TOKENS', 32);
const PREFILL_MS = env('BENCH_PREFILL_MS_PER_TOKEN', 1);
const ITL_MS = env('BENCH_ITL_MS', 10);
const STAGGER_MS = env('BENCH_STAGGER_MS', 300);
const MODEL = 'facebook/opt-125m';
const children: ChildServer[] = [];

const VOCABULARY = 'cache prefix engine router token batch queue latency model prompt answer history user system memory block layer tensor stream request'.split(' ');
/** Deterministic text of `n` words, different for each seed. */
function words(seed: string, n: number): string {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ (i + 1), 2654435761) >>> 0;
    out.push(`${VOCABULARY[h % VOCABULARY.length]}${(h >>> 8) % 97}`);
  }
  return out.join(' ');
}

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface Workload {
  name: string;
  users: number;
  rounds: number;
  engines: number;
  /** Shared by every user ('' for none). */
  system: string;
  contextWords: number;
  staggerMs: number;
}

interface Outcome {
  hitRate: number;
  perEngine: number[];
  skew: number;
  ttftP50: number;
  ttftP90: number;
  failures: number;
}

async function start(main: string, args: string[]): Promise<ChildServer> {
  const c = await startChildServer(main, args);
  children.push(c);
  return c;
}

async function stop(c: ChildServer): Promise<void> {
  children.splice(children.indexOf(c), 1);
  await c.stop();
}

function counter(text: string, name: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

/** One streamed chat turn: time to the first content chunk, and the answer's text. */
async function turn(url: string, user: number, messages: Message[]): Promise<{ ttftMs: number; answer: string } | null> {
  const t0 = performance.now();
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': `user-${user}` },
    body: JSON.stringify({ model: MODEL, messages, max_tokens: ANSWER_TOKENS, ignore_eos: true, stream: true }),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return null;
  }
  let ttftMs = -1;
  let answer = '';
  let buffered = '';
  for await (const chunk of res.body) {
    buffered += chunk.toString();
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: {')) continue;
      const content = (JSON.parse(event.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content;
      if (content) {
        if (ttftMs < 0) ttftMs = performance.now() - t0;
        answer += content;
      }
    }
  }
  return ttftMs < 0 ? null : { ttftMs, answer };
}

/** Runs the workload through `routerArgs` on fresh engines; everything measured from the engines' counters but TTFT. */
async function run(w: Workload, routerArgs: string[], engineCount = w.engines): Promise<Outcome> {
  const engines = await Promise.all(Array.from({ length: engineCount }, (_, i) => start(ENGINE_SIM_MAIN, [
    '--port', '0', '--time-scale', '1', '--prefill-time-per-token', String(PREFILL_MS), '--inter-token-latency', String(ITL_MS),
    '--prefill-overhead', '5', '--max-num-seqs', String(MAX_NUM_SEQS), '--jitter', '0.1', '--seed', String(i + 1), '--instance-id', `engine-${i}`,
  ])));
  const router = await start(ROUTER_MAIN, ['--port', '0', '--log-level', 'warn', '--engine-stats-interval', '1',
    '--static-backends', engines.map((e) => e.url).join(','), '--static-models', engines.map(() => MODEL).join(','), ...routerArgs]);
  const ttfts: number[] = [];
  let failures = 0;
  try {
    await Promise.all(Array.from({ length: w.users }, async (_, u) => {
      await sleep(u * w.staggerMs);
      const messages: Message[] = [];
      if (w.system) messages.push({ role: 'system', content: w.system });
      const context = words(`${w.name} context ${u}`, w.contextWords);
      for (let r = 0; r < w.rounds; r++) {
        const question = words(`${w.name} user ${u} round ${r}`, QUESTION_WORDS);
        messages.push({ role: 'user', content: r === 0 ? `${context}\n${question}` : question });
        const result = await turn(router.url, u, messages);
        if (!result) {
          failures++;
          messages.pop();
          continue;
        }
        ttfts.push(result.ttftMs);
        messages.push({ role: 'assistant', content: result.answer });
      }
    }));
    const texts = await Promise.all(engines.map(async (e) => (await request(`${e.url}/metrics`)).body.text()));
    const hits = texts.reduce((a, t) => a + counter(t, 'vllm:prefix_cache_hits_total'), 0);
    const queries = texts.reduce((a, t) => a + counter(t, 'vllm:prefix_cache_queries_total'), 0);
    const perEngine = texts.map((t) => counter(t, 'vllm:request_success_total'));
    const mean = perEngine.reduce((a, b) => a + b, 0) / perEngine.length;
    return { hitRate: queries > 0 ? hits / queries : 0, perEngine, skew: mean > 0 ? Math.max(...perEngine) / mean : 0, ttftP50: percentile(ttfts, 50), ttftP90: percentile(ttfts, 90), failures };
  } finally {
    await Promise.all([router, ...engines].map(stop));
  }
}

/** Mean of the runs ± half their range. */
function spread(values: number[], digits: number, scale = 1): string {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const half = (Math.max(...values) - Math.min(...values)) / 2;
  return `${(mean * scale).toFixed(digits)} ± ${(half * scale).toFixed(digits)}`;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function row(name: string, outcomes: Outcome[]): (string | number)[] {
  return [name, spread(outcomes.map((o) => o.hitRate), 1, 100), outcomes.map((o) => o.perEngine.join('/')).join(' '), spread(outcomes.map((o) => o.skew), 2),
    spread(outcomes.map((o) => o.ttftP50), 0), spread(outcomes.map((o) => o.ttftP90), 0), outcomes.reduce((a, o) => a + o.failures, 0)];
}

async function main(): Promise<void> {
  cleanUpOnSignal(async () => {
    await Promise.all(children.map((c) => c.stop()));
  });
  const header = ['routing', 'hit rate %', 'requests per engine (each run)', 'load skew', 'TTFT p50 ms', 'TTFT p90 ms', 'failures'];

  const qa: Workload = { name: 'qa', users: USERS, rounds: ROUNDS, engines: ENGINES, system: words('system prompt', SYSTEM_WORDS), contextWords: CONTEXT_WORDS, staggerMs: STAGGER_MS };
  const algorithms: [string, string[]][] = [
    ['roundrobin', ['--routing-logic', 'roundrobin']],
    ['longest match', ['--routing-logic', 'prefixaware', '--prefix-load-weight', '0']],
    ['prefixaware', ['--routing-logic', 'prefixaware']],
  ];
  const results = new Map<string, Outcome[]>(algorithms.map(([n]) => [n, []]));
  console.log(`Multi-round QA: ${USERS} users arriving ${STAGGER_MS} ms apart, ${ROUNDS} rounds, a ${SYSTEM_WORDS}-word system prompt shared by all, ${CONTEXT_WORDS}-word contexts, ${QUESTION_WORDS}-word questions, ${ANSWER_TOKENS}-token answers;`);
  console.log(`${ENGINES} simulated engines of --max-num-seqs ${MAX_NUM_SEQS} (one alone would queue), prefill ${PREFILL_MS} ms/token, ${ITL_MS} ms between tokens; ${RUNS} runs each, interleaved`);
  for (let r = 0; r < RUNS; r++) {
    for (const [name, args] of algorithms) results.get(name)!.push(await run(qa, args));
  }
  console.log(table(header, algorithms.map(([n]) => row(n, results.get(n)!))));

  const distinct: Workload = { name: 'distinct', users: 7, rounds: 5, engines: 4, system: '', contextWords: 600, staggerMs: 0 };
  const ceilingRuns: Outcome[] = [];
  const spreadRuns: Outcome[] = [];
  for (let r = 0; r < RUNS; r++) {
    ceilingRuns.push(await run(distinct, ['--routing-logic', 'prefixaware'], 1));
    spreadRuns.push(await run(distinct, ['--routing-logic', 'prefixaware']));
  }
  console.log('\nDistinct contexts: 7 users with 600-word contexts and no shared prompt, 5 rounds, 4 engines; the ceiling is the same workload on one engine');
  console.log(table(header, [row('one engine (ceiling)', ceilingRuns), row('prefixaware, 4 engines', spreadRuns)]));

  const ours = results.get('prefixaware')!;
  const longest = results.get('longest match')!;
  const rr = results.get('roundrobin')!;
  const checks: [string, boolean][] = [
    [`hit rate ${(mean(ours.map((o) => o.hitRate)) * 100).toFixed(1)} % within 5 % of the longest match's ${(mean(longest.map((o) => o.hitRate)) * 100).toFixed(1)} %`, mean(ours.map((o) => o.hitRate)) >= 0.95 * mean(longest.map((o) => o.hitRate))],
    [`load skew ${mean(ours.map((o) => o.skew)).toFixed(2)} ≤ 1.3`, mean(ours.map((o) => o.skew)) <= 1.3],
    [`TTFT p90 ${mean(ours.map((o) => o.ttftP90)).toFixed(0)} ms below round robin's ${mean(rr.map((o) => o.ttftP90)).toFixed(0)} and the longest match's ${mean(longest.map((o) => o.ttftP90)).toFixed(0)}`,
      mean(ours.map((o) => o.ttftP90)) < Math.min(mean(rr.map((o) => o.ttftP90)), mean(longest.map((o) => o.ttftP90)))],
    [`distinct contexts: every engine took 5–15 of 35 requests in every run (${spreadRuns.map((o) => o.perEngine.join('/')).join(', ')})`, spreadRuns.every((o) => o.perEngine.every((n) => n >= 5 && n <= 15))],
    [`distinct contexts: hit rate ${(mean(spreadRuns.map((o) => o.hitRate)) * 100).toFixed(1)} % at the ceiling of ${(mean(ceilingRuns.map((o) => o.hitRate)) * 100).toFixed(1)} % (within 1 %)`, mean(spreadRuns.map((o) => o.hitRate)) >= 0.99 * mean(ceilingRuns.map((o) => o.hitRate))],
  ];
  console.log('\nTargets');
  for (const [what, ok] of checks) console.log(`  ${ok ? 'met    ' : 'MISSED '} ${what}`);
  console.log(JSON.stringify({
    multi_round_qa: Object.fromEntries([...results].map(([n, o]) => [n, o])),
    distinct_contexts: { ceiling: ceilingRuns, prefixaware: spreadRuns },
    targets: Object.fromEntries(checks.map(([what, ok]) => [what, ok])),
  }));
}

try {
  await main();
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
