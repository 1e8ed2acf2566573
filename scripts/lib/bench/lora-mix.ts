// The adapter workload: base-model and LoRA adapter requests mixed, arriving
// as a Poisson process; the adapters are asked for with Zipf-like
// popularity (the k-th in the configured order with weight 1/k), so a few
// are hot and the rest cold, and with more adapters than an engine's GPU
// slots, where each request goes decides how often adapters are swapped in.
import { Random } from '../random.js';
import { interArrivalMs } from './serving.js';
import { words } from './synthetic-text.js';
import { sleepUntil, toSample, type WorkloadContext } from './workload.js';
import type { LoraMixParams } from '../config/bench-settings.js';

/** The model of each draw: the base model with baseShare, else an adapter by Zipf weights 1/k. */
export function modelPicker(rng: Random, base: string, adapters: string[], baseShare: number): () => string {
  const weights = adapters.map((_, k) => 1 / (k + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  return () => {
    if (adapters.length === 0 || rng.next() < baseShare) return base;
    let x = rng.next() * sum;
    for (let k = 0; k < adapters.length; k++) {
      x -= weights[k] as number;
      if (x < 0) return adapters[k] as string;
    }
    return adapters.at(-1) as string;
  };
}

export async function runLoraMix(ctx: WorkloadContext, p: LoraMixParams): Promise<void> {
  const rng = new Random(ctx.seed);
  const pick = modelPicker(rng, ctx.model, p.adapters, p.baseShare);
  const running = new Set<Promise<void>>();
  let at = performance.now();
  for (;;) {
    at += interArrivalMs(rng, p.requestRate, 1);
    if (at >= ctx.endAt) break;
    await sleepUntil(at);
    ctx.lag(performance.now() - at);
    const id = ctx.nextId();
    const model = pick();
    const prompt = `request${id.id} ${words(rng, Math.max(0, p.inputLen - 1))}`;
    const body = JSON.stringify({ model, prompt, max_tokens: p.outputLen, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
    const request: Promise<void> = ctx.client.send({ path: '/v1/completions', body }).then((r) => ctx.record(toSample(ctx, r, id))).finally(() => running.delete(request));
    running.add(request);
  }
  await Promise.all(running);
}
