// Multi-round QA, as production-stack's benchmark: users chat in rounds with
// a history that grows each round, over a system prompt all users share and a
// context of their own, identified by the session key header. When a user has
// asked all its rounds a new user takes its place until the time is up.
import { Random, seedOf } from '../random.js';
import { sleepUntil, toSample, type WorkloadContext } from './workload.js';
import { words } from './synthetic-text.js';
import { QUESTION_LEN, type QaParams } from '../config/bench-settings.js';

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A user's conversation: the same text on every node for the same seed and user number. */
export class QaUser {
  readonly id: string;
  readonly messages: Message[];
  private readonly rng: Random;
  private readonly context: string;

  constructor(seed: number, repeat: number, index: number, systemPrompt: string, historyLen: number) {
    this.id = `user-${repeat}-${index}`;
    this.rng = new Random(seed ^ seedOf(this.id));
    this.context = words(this.rng, historyLen);
    this.messages = [{ role: 'system', content: systemPrompt }];
  }

  /** Adds the next question; the first carries the user's own context. */
  ask(round: number): Message[] {
    const question = `question ${round}: ${words(this.rng, QUESTION_LEN)}`;
    this.messages.push({ role: 'user', content: round === 1 && this.context !== '' ? `${this.context}\n\n${question}` : question });
    return this.messages;
  }

  answer(text: string): void {
    this.messages.push({ role: 'assistant', content: text });
  }
}

export async function runMultiRoundQa(ctx: WorkloadContext, p: QaParams): Promise<void> {
  const systemPrompt = words(new Random(ctx.seed), p.systemPromptLen);
  // Each user asks at most every users/qps seconds, so that together they send about qps.
  const gapMs = p.qps > 0 ? (p.users / p.qps) * 1000 : 0;
  let nextUser = 0;
  const slot = async (index: number) => {
    let sendAt = performance.now() + (p.qps > 0 ? (index * 1000) / p.qps : 0);
    while (performance.now() < ctx.endAt) {
      const user = new QaUser(ctx.seed, ctx.repeat, nextUser++, systemPrompt, p.historyLen);
      for (let round = 1; round <= p.rounds; round++) {
        if (gapMs > 0) {
          if (sendAt > performance.now()) {
            await sleepUntil(sendAt);
            ctx.lag(performance.now() - sendAt);
          }
          sendAt = Math.max(sendAt, performance.now()) + gapMs;
        }
        if (performance.now() >= ctx.endAt) return;
        const id = ctx.nextId();
        const body = JSON.stringify({
          model: ctx.model, messages: user.ask(round), max_tokens: p.answerLen, ignore_eos: true,
          stream: true, stream_options: { include_usage: true },
        });
        const r = await ctx.client.send({ path: '/v1/chat/completions', body, headers: [ctx.sessionKey, user.id], collectText: true });
        ctx.record(toSample(ctx, r, id, user.id, round));
        // A failed round ends the conversation; a new user takes the slot.
        if (r.errorKind !== null) break;
        user.answer(r.text);
      }
    }
  };
  await Promise.all(Array.from({ length: p.users }, (_, i) => slot(i)));
}
