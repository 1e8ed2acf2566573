// The prefill/decode mix: the workload where disaggregated prefill shows
// what it gives and costs. Long prompts with long answers (documents to
// summarize) mixed with short chat turns, arriving as a Poisson process.
// On colocated engines every long prefill stretches the inter-token latency
// of the answers being decoded beside it; on a disaggregated stack the
// decode engines never prefill, so the ITL tail stays flat while TTFT pays
// the KV transfer. Both sides draw the same sequence from the seed, so the
// n-th request is the same request on baseline and dev.
import { Random } from '../random.js';
import { interArrivalMs } from './serving.js';
import { words } from './synthetic-text.js';
import { sleepUntil, toSample, type WorkloadContext } from './workload.js';
import type { PdMixParams } from '../config/bench-settings.js';

/** The n-th request of the mix: long or short, drawn from the seed. */
export function pdMixRequest(rng: Random, id: number, p: PdMixParams): { path: '/v1/completions' | '/v1/chat/completions'; body: Record<string, unknown> } {
  const common = { max_tokens: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } };
  if (rng.next() < p.longShare) {
    // A distinct first word: long prompts share no prefix, so each is a full prefill.
    return { path: '/v1/completions', body: { ...common, max_tokens: p.longOutputLen, prompt: `document${id} ${words(rng, Math.max(0, p.longInputLen - 1))}` } };
  }
  return { path: '/v1/chat/completions', body: { ...common, max_tokens: p.shortOutputLen, messages: [{ role: 'user', content: `chat${id} ${words(rng, Math.max(0, p.shortInputLen - 1))}` }] } };
}

export async function runPdMix(ctx: WorkloadContext, p: PdMixParams): Promise<void> {
  const arrivals = new Random(ctx.seed);
  const content = new Random(ctx.seed ^ 0x5bd1e995);
  const running = new Set<Promise<void>>();
  let at = performance.now();
  for (;;) {
    at += interArrivalMs(arrivals, p.requestRate, 1);
    if (at >= ctx.endAt) break;
    await sleepUntil(at);
    ctx.lag(performance.now() - at);
    const id = ctx.nextId();
    const { path, body } = pdMixRequest(content, id.id, p);
    const request: Promise<void> = ctx.client.send({ path, body: JSON.stringify({ model: ctx.model, ...body }) })
      .then((r) => ctx.record(toSample(ctx, r, id)))
      .finally(() => running.delete(request));
    running.add(request);
  }
  await Promise.all(running);
}
