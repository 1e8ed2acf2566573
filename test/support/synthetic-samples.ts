// Benchmark samples made up for tests of the statistics and the report: a
// closed-loop run of users whose latencies are drawn around set medians, with
// optional slowdowns, errors and a noisy period that hits both nodes alike.
import type { RequestSample } from '../../scripts/lib/vocabulary/request-sample.js';
import { Random } from '../../scripts/lib/random.js';

export interface SyntheticRun {
  seed: number;
  users?: number;
  seconds?: number;
  tokens?: number;
  /** Median TTFT and inter-token gap, ms. */
  ttftMs?: number;
  itlMs?: number;
  /** Multiplies TTFT only, or every latency. */
  ttftFactor?: number;
  latencyFactor?: number;
  /** Relative spread of each latency (lognormal sigma). */
  spread?: number;
  errorRate?: number;
  /** [from, to) seconds during which every latency is multiplied by `factor`: host noise. */
  noisy?: { from: number; to: number; factor: number };
  warmup?: number;
  repeats?: number;
}

export function syntheticSamples(o: SyntheticRun): RequestSample[] {
  const rng = new Random(o.seed);
  const users = o.users ?? 8;
  const seconds = o.seconds ?? 20;
  const tokens = o.tokens ?? 16;
  const spread = o.spread ?? 0.25;
  const samples: RequestSample[] = [];
  for (let repeat = 1; repeat <= (o.repeats ?? 1); repeat++) {
    let id = 0;
    const pending: { user: number; at: number }[] = Array.from({ length: users }, (_, u) => ({ user: u, at: u * 3 }));
    for (;;) {
      pending.sort((a, b) => a.at - b.at);
      const next = pending[0] as { user: number; at: number };
      if (next.at >= seconds * 1000) break;
      const noise = o.noisy && next.at >= o.noisy.from * 1000 && next.at < o.noisy.to * 1000 ? o.noisy.factor : 1;
      const draw = (median: number) => median * Math.exp(spread * rng.normal()) * (o.latencyFactor ?? 1) * noise;
      const failed = rng.next() < (o.errorRate ?? 0);
      const ttft = draw(o.ttftMs ?? 30) * (o.ttftFactor ?? 1);
      const itl = failed ? [] : Array.from({ length: tokens - 1 }, () => draw(o.itlMs ?? 10));
      const e2el = failed ? draw(5) : ttft + itl.reduce((a, b) => a + b, 0);
      samples.push({
        id, repeat, warmup: id < (o.warmup ?? 0), user: `user-${next.user}`, round: 1 + (id % 4), start_ms: next.at,
        ttft_ms: failed ? null : ttft, itl_ms: itl, e2el_ms: e2el,
        prompt_tokens: failed ? null : 500, completion_tokens: failed ? null : tokens, cached_tokens: failed ? null : 400,
        status: failed ? 500 : 200, error_kind: failed ? 'http_500' : null, error: failed ? 'HTTP 500: injected failure (500)' : null,
        engine: `sim-${next.user % 2}`,
      });
      id++;
      next.at += e2el + 1;
    }
  }
  return samples;
}
