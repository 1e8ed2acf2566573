// api: the OpenAI API as clients meet it, through the router with the
// official openai client, and each engine directly, so that an engine that
// fails every request is caught even when the router hides it.
import OpenAI, { APIError } from 'openai';
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { EngineDirectory, engineHeaders } from './engines.js';
import type { CaseDefinition, CaseRun, SuiteDefinition } from './runner.js';
import { runNonce, words } from './text.js';
import { usageProblems, type Usage } from './usage-check.js';

const MAX_TOKENS = 8;

function client(ctx: SuiteContext): OpenAI {
  // The router holds the engines' key itself; its clients send none. Without a router, clients talk to the engine.
  const key = ctx.expect.routingLogic === null ? ctx.expect.apiKey : undefined;
  return new OpenAI({ baseURL: `${ctx.stack.routerUrl}/v1`, apiKey: key ?? 'no-key', maxRetries: 0, timeout: 30_000 });
}

/** Runs an openai call and turns its error into a check failure with the status and message. */
async function call<T>(c: CaseRun, what: string, fn: () => Promise<T>): Promise<T | null> {
  c.ctx.progress.request();
  try {
    return await fn();
  } catch (err) {
    const status = err instanceof APIError ? ` (HTTP ${err.status ?? 'no answer'})` : '';
    c.check(false, `${what} failed${status}: ${(err as Error).message}`);
    return null;
  }
}

function checkUsage(c: CaseRun, what: string, usage: Usage | null | undefined): void {
  for (const p of usageProblems(usage, MAX_TOKENS)) c.check(false, `${what}: ${p}`);
}

async function expectError(c: CaseRun, what: string, status: number, fn: () => Promise<unknown>): Promise<void> {
  c.ctx.progress.request();
  try {
    await fn();
    c.check(false, `${what}: answered 200, expected ${status}`);
  } catch (err) {
    if (!(err instanceof APIError) || err.status === undefined) {
      c.check(false, `${what}: no answer: ${(err as Error).message}`);
      return;
    }
    const body = err.error as { message?: unknown } | undefined;
    c.measure({ status: err.status, message: body?.message ?? null });
    c.summary = `HTTP ${err.status}`;
    c.check(err.status === status, `${what}: answered HTTP ${err.status}, expected ${status}`);
    c.check(typeof body?.message === 'string', `${what}: the error body is not OpenAI-shaped ({"error": {"message": …}}): ${JSON.stringify(err.error)}`);
  }
}

function routerCases(ctx: SuiteContext, nonce: string): CaseDefinition[] {
  const model = ctx.expect.model;
  const openai = client(ctx);
  const prompt = (n: number) => `api ${nonce} ${n}: ${words(`${nonce}-${n}`, 12)}`;
  return [
    {
      name: 'models',
      expectation: `GET /v1/models lists ${model}`,
      async run(c: CaseRun) {
        const list = await call(c, 'GET /v1/models', () => openai.models.list());
        if (!list) return;
        const ids = list.data.map((m) => m.id);
        c.measure({ models: ids });
        c.summary = ids.join(', ');
        c.check(ids.includes(model), `/v1/models lists ${ids.join(', ') || 'nothing'}, not ${model}`);
      },
    },
    {
      name: 'completion',
      expectation: 'a completion with text, a finish_reason and consistent usage (total = prompt + completion, cached ≤ prompt)',
      async run(c: CaseRun) {
        const r = await call(c, 'the completion', () => openai.completions.create({ model, prompt: prompt(1), max_tokens: MAX_TOKENS }));
        if (!r) return;
        const choice = r.choices[0];
        c.measure({ text: choice?.text, finish_reason: choice?.finish_reason, usage: r.usage });
        c.summary = `${r.usage?.completion_tokens ?? '?'} tokens, ${choice?.finish_reason ?? 'no finish_reason'}`;
        c.check(r.object === 'text_completion', `object is ${String(r.object)}, not text_completion`);
        c.check(typeof choice?.text === 'string' && choice.text.length > 0, 'the completion has no text');
        c.check(choice?.finish_reason === 'stop' || choice?.finish_reason === 'length', `finish_reason is ${String(choice?.finish_reason)}`);
        checkUsage(c, 'the completion', r.usage);
      },
    },
    {
      name: 'completion stream',
      expectation: 'a streamed completion: text chunks, then a finish_reason; with include_usage a final usage chunk',
      async run(c: CaseRun) {
        const stream = await call(c, 'the streamed completion', () => openai.completions.create({ model, prompt: prompt(2), max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true } }));
        if (!stream) return;
        let chunks = 0;
        let text = '';
        let finish: string | null = null;
        let usage: Usage | null = null;
        for await (const chunk of stream) {
          chunks++;
          text += chunk.choices[0]?.text ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.usage) usage = chunk.usage;
        }
        c.measure({ chunks, text, finish_reason: finish, usage });
        c.summary = `${chunks} chunks, ${usage?.completion_tokens ?? '?'} tokens`;
        c.check(text.length > 0, 'no text arrived');
        c.check(finish === 'stop' || finish === 'length', `finish_reason is ${String(finish)}`);
        checkUsage(c, 'the final usage chunk', usage);
      },
    },
    {
      name: 'chat',
      expectation: 'a chat answer from the assistant with consistent usage',
      async run(c: CaseRun) {
        const r = await call(c, 'the chat completion', () => openai.chat.completions.create({ model, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: prompt(3) }] }));
        if (!r) return;
        const msg = r.choices[0]?.message;
        c.measure({ content: msg?.content, finish_reason: r.choices[0]?.finish_reason, usage: r.usage });
        c.summary = `${r.usage?.completion_tokens ?? '?'} tokens`;
        c.check(r.object === 'chat.completion', `object is ${String(r.object)}, not chat.completion`);
        c.check(msg?.role === 'assistant' && typeof msg.content === 'string' && msg.content.length > 0, `no assistant content: ${JSON.stringify(msg)}`);
        checkUsage(c, 'the chat completion', r.usage);
      },
    },
    {
      name: 'chat stream with usage',
      expectation: 'a streamed chat (stream_options.include_usage): role, content chunks, finish_reason, then one chunk with choices [] and usage',
      async run(c: CaseRun) {
        const stream = await call(c, 'the streamed chat', () => openai.chat.completions.create({ model, max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt(4) }] }));
        if (!stream) return;
        let role: string | undefined;
        let content = '';
        let finish: string | null = null;
        let usage: Usage | null = null;
        let usageChunkChoices: number | null = null;
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          role ??= choice?.delta.role;
          content += choice?.delta.content ?? '';
          finish = choice?.finish_reason ?? finish;
          if (chunk.usage) {
            usage = chunk.usage;
            usageChunkChoices = chunk.choices.length;
          }
        }
        c.measure({ role, content, finish_reason: finish, usage });
        c.summary = `${usage?.completion_tokens ?? '?'} tokens`;
        c.check(role === 'assistant', `the first delta's role is ${String(role)}`);
        c.check(content.length > 0, 'no content arrived');
        c.check(finish === 'stop' || finish === 'length', `finish_reason is ${String(finish)}`);
        c.check(usageChunkChoices === 0, `the usage chunk has ${String(usageChunkChoices)} choices, expected []`);
        checkUsage(c, 'the usage chunk', usage);
      },
    },
    {
      name: 'unknown model',
      expectation: 'an unknown model gets 404 with an OpenAI error body',
      run: (c) => expectError(c, 'a completion for an unknown model', 404, () => openai.completions.create({ model: `no-such-model-${nonce}`, prompt: 'x', max_tokens: 1 })),
    },
    {
      name: 'malformed JSON',
      expectation: 'a body that is not JSON gets 400 with an OpenAI error body',
      async run(c: CaseRun) {
        const r = await ctx.http.post(`${ctx.stack.routerUrl}/v1/completions`, `{"model": "${model}", "prompt": `, { timeoutMs: 10_000 });
        const message = (r.json as { error?: { message?: unknown } } | null)?.error?.message;
        c.measure({ status: r.status, message: message ?? null });
        c.summary = `HTTP ${r.status ?? r.error}`;
        c.check(r.status === 400, `answered ${r.status ?? r.error}, expected 400`);
        c.check(typeof message === 'string', `the error body is not OpenAI-shaped: ${r.text.slice(0, 200)}`);
      },
    },
  ];
}

function keyCase(ctx: SuiteContext, engines: EngineInfo[]): CaseDefinition {
  return {
    name: 'wrong API key',
    expectation: 'each engine answers a wrong API key with 401 (the router sends the right one itself)',
    async run(c: CaseRun) {
      if (!ctx.expect.apiKey) c.skip('no API key is configured (CONFIG_VLLM_API_KEY_FILE or VLLM_API_KEY), so the engines accept any client');
      const statuses: Record<string, number | null> = {};
      for (const e of engines) {
        const r = await ctx.http.post(`${e.url}/v1/completions`, { model: ctx.expect.model, prompt: 'x', max_tokens: 1 }, { headers: { authorization: 'Bearer wrong-key' }, timeoutMs: 10_000 });
        statuses[e.id] = r.status;
        c.check(r.status === 401, `${e.id} answered a wrong key with ${r.status ?? r.error}, expected 401`);
      }
      c.measure({ statuses });
      c.summary = Object.entries(statuses).map(([id, s]) => `${id} ${s}`).join(', ');
    },
  };
}

function engineCase(ctx: SuiteContext, engine: EngineInfo, nonce: string): CaseDefinition {
  return {
    name: `${engine.id} directly`,
    expectation: `${engine.id} answers /health, lists ${ctx.expect.model} and completes one request with consistent usage`,
    async run(c: CaseRun) {
      const auth = engineHeaders(ctx);
      const health = await ctx.http.get(`${engine.url}/health`, { timeoutMs: 5_000 });
      const models = await ctx.http.get(`${engine.url}/v1/models`, { headers: auth, timeoutMs: 5_000 });
      const ids = ((models.json as { data?: { id?: string }[] } | null)?.data ?? []).map((m) => m.id);
      const done = await ctx.http.post(`${engine.url}/v1/completions`, { model: ctx.expect.model, prompt: `engine ${nonce} ${engine.id}: ${words(engine.id + nonce, 10)}`, max_tokens: MAX_TOKENS }, { headers: auth, timeoutMs: 30_000 });
      const body = done.json as { choices?: { text?: string }[]; usage?: Usage } | null;
      c.measure({ health: health.status, models: ids, completion_status: done.status, usage: body?.usage ?? null });
      c.summary = `health ${health.status ?? '-'}, completion ${done.status ?? done.error}`;
      c.check(health.status === 200, `${engine.id} /health answered ${health.status ?? health.error}`);
      c.check(ids.includes(ctx.expect.model), `${engine.id} /v1/models lists ${ids.join(', ') || 'nothing'} (${models.status ?? models.error}), not ${ctx.expect.model}`);
      if (!c.check(done.status === 200, `${engine.id} answered the completion with ${done.status === null ? done.error : `HTTP ${done.status}: ${done.text.slice(0, 160)}`}`)) return;
      c.check(typeof body?.choices?.[0]?.text === 'string', `${engine.id}'s completion has no text`);
      checkUsage(c, `${engine.id}'s completion`, body?.usage);
    },
  };
}

export const apiSuite: SuiteDefinition = {
  name: 'api',
  async cases(ctx) {
    const nonce = runNonce();
    const dir = await EngineDirectory.read(ctx);
    const configured = (await ctx.stack.engines()).length;
    const missing: CaseDefinition[] = dir.engines.length === configured ? [] : [{
      name: 'engines running',
      expectation: `every engine the stack lists runs (${configured})`,
      async run(c: CaseRun) {
        c.measure({ listed: configured, running: dir.engines.length });
        c.check(false, `${configured - dir.engines.length} of ${configured} engines are not running`);
      },
    }];
    return [...routerCases(ctx, nonce), keyCase(ctx, dir.engines), ...missing, ...dir.engines.map((e) => engineCase(ctx, e, nonce))];
  },
};
