// A small, bounded multi-user chat load for tests: each user holds a
// conversation that shares a system prompt with the others and grows every
// round, alternating streamed and plain answers, chat and completions, and
// now and then goes back to its first question, so that prefix caches hit,
// miss and (with a small GPU cache) find evicted blocks in the offload tier.

export interface LoadOptions {
  users: number;
  /** The load stops starting requests after this long. */
  seconds: number;
  maxTokens?: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  streamed: number;
}

const SYSTEM = Array.from({ length: 120 }, (_, i) => `rule${i % 17}`).join(' ');
const TIMEOUT_MS = 10_000;

async function ask(url: string, user: number, body: Record<string, unknown>, path: string): Promise<boolean> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': `user-${user}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  // A stream is read to its end, so that the engine counts the whole answer.
  await res.arrayBuffer();
  return res.ok;
}

export async function driveLoad(url: string, model: string, o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, streamed: 0 };
  const stopAt = Date.now() + o.seconds * 1000;
  const maxTokens = o.maxTokens ?? 8;
  const user = async (id: number) => {
    const context = Array.from({ length: 60 }, (_, i) => `user${id}fact${i}`).join(' ');
    const history: { role: string; content: string }[] = [];
    for (let round = 0; Date.now() < stopAt; round++) {
      const stream = round % 2 === 1;
      const revisit = round > 0 && round % 5 === 0;
      const question = `question ${revisit ? 0 : round} of user ${id}: ${context.slice(0, 40 + round * 7)}`;
      const messages = [{ role: 'system', content: SYSTEM }, ...(revisit ? [] : history), { role: 'user', content: `${context} ${question}` }];
      const chat = round % 3 !== 2;
      const body = chat
        ? { model, messages, max_tokens: maxTokens, stream }
        : { model, prompt: messages.map((m) => m.content).join('\n'), max_tokens: maxTokens, stream };
      result.sent++;
      if (stream) result.streamed++;
      let ok = false;
      try {
        ok = await ask(url, id, body, chat ? '/v1/chat/completions' : '/v1/completions');
      } catch {
        ok = false;
      }
      if (ok) result.ok++;
      else result.failed++;
      if (!revisit) history.push({ role: 'user', content: question }, { role: 'assistant', content: `answer ${round}` });
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all(Array.from({ length: o.users }, (_, i) => user(i)));
  return result;
}
