// Serving, as `vllm bench serve` with its random dataset: independent
// completions of a set input and output length, arriving at a request rate
// (Poisson, or gamma with a burstiness), at most a set number in flight. A
// rate of 0 with a concurrency limit is a fixed concurrency, back to back.
import { Random } from '../random.js';
import { words } from './synthetic-text.js';
import { sleepUntil, toSample, type WorkloadContext } from './workload.js';
import type { ServingParams } from '../config/bench-settings.js';

/** The gap before the next arrival, ms: gamma(shape = burstiness) with mean 1/rate, as vLLM draws it. */
export function interArrivalMs(rng: Random, requestRate: number, burstiness: number): number {
  return (rng.gamma(burstiness) / (requestRate * burstiness)) * 1000;
}

export async function runServing(ctx: WorkloadContext, p: ServingParams): Promise<void> {
  const rng = new Random(ctx.seed);
  const one = async () => {
    const id = ctx.nextId();
    // A distinct first word per request: prompts share no prefix, as vLLM's random dataset.
    const prompt = `request${id.id} ${words(rng, Math.max(0, p.inputLen - 1))}`;
    const body = JSON.stringify({
      model: ctx.model, prompt, max_tokens: p.outputLen, ignore_eos: true, stream: true, stream_options: { include_usage: true },
    });
    ctx.record(toSample(ctx, await ctx.client.send({ path: '/v1/completions', body }), id));
  };
  if (p.requestRate === 0) {
    await Promise.all(Array.from({ length: p.maxConcurrency }, async () => {
      while (performance.now() < ctx.endAt) await one();
    }));
    return;
  }
  const running = new Set<Promise<void>>();
  // Arrivals past the concurrency limit wait for a free slot, in order (vLLM's semaphore).
  const waiting: (() => void)[] = [];
  const slot = (): Promise<void> | void => {
    if (p.maxConcurrency === 0 || running.size < p.maxConcurrency) return;
    return new Promise((resolve) => waiting.push(resolve));
  };
  let at = performance.now();
  for (;;) {
    at += interArrivalMs(rng, p.requestRate, p.burstiness);
    if (at >= ctx.endAt) break;
    await sleepUntil(at);
    ctx.lag(performance.now() - at);
    await slot();
    const request: Promise<void> = one().finally(() => {
      running.delete(request);
      waiting.shift()?.();
    });
    running.add(request);
  }
  await Promise.all(running);
}
