// The smoke test: one completion and one streamed chat through the entry
// point, timed, each answer checked for the shape an OpenAI client needs.

export interface ProbeResult {
  ok: boolean;
  /** Wall time of the whole request, ms. */
  total_ms: number;
  /** Time to the first content (first byte for non-streaming), ms. */
  ttft_ms: number | null;
  /** Which engine answered, from the router's header, when there is one. */
  engine: string | null;
  status: number | null;
  completion_tokens: number | null;
  error?: string;
}

export interface QuickTestResult {
  url: string;
  model: string;
  passed: boolean;
  completion: ProbeResult;
  chat_stream: ProbeResult;
}

function headersFor(apiKey: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

function failed(start: number, status: number | null, error: string, engine: string | null = null): ProbeResult {
  return { ok: false, total_ms: performance.now() - start, ttft_ms: null, engine, status, completion_tokens: null, error };
}

async function completion(url: string, model: string, apiKey: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const start = performance.now();
  try {
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: headersFor(apiKey), signal: AbortSignal.timeout(timeoutMs),
      body: JSON.stringify({ model, prompt: 'The capital of France is', max_tokens: 8, temperature: 0 }),
    });
    const engine = res.headers.get('x-router-engine');
    const text = await res.text();
    const ttft = performance.now() - start;
    if (!res.ok) return failed(start, res.status, `HTTP ${res.status}: ${text.slice(0, 300)}`, engine);
    const body = JSON.parse(text) as { object?: string; choices?: { text?: unknown }[]; usage?: { completion_tokens?: number } };
    if (body.object !== 'text_completion' || typeof body.choices?.[0]?.text !== 'string' || typeof body.usage?.completion_tokens !== 'number') {
      return failed(start, res.status, `malformed completion: ${text.slice(0, 300)}`, engine);
    }
    return { ok: true, total_ms: performance.now() - start, ttft_ms: ttft, engine, status: res.status, completion_tokens: body.usage.completion_tokens };
  } catch (err) {
    return failed(start, null, `no answer from ${url}: ${(err as Error).message}`);
  }
}

async function streamedChat(url: string, model: string, apiKey: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const start = performance.now();
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: headersFor(apiKey), signal: AbortSignal.timeout(timeoutMs),
      body: JSON.stringify({
        model, stream: true, stream_options: { include_usage: true }, max_tokens: 16,
        messages: [{ role: 'user', content: 'Say hello in three words.' }],
      }),
    });
    const engine = res.headers.get('x-router-engine');
    if (!res.ok || !res.body) return failed(start, res.status, `HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`, engine);
    let ttft: number | null = null;
    let buffer = '';
    let done = false;
    let content = '';
    let usage: number | null = null;
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith('data: ')) return failed(start, res.status, `not an SSE data line: ${event.slice(0, 120)}`, engine);
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const parsed = JSON.parse(data) as { object?: string; choices?: { delta?: { content?: string } }[]; usage?: { completion_tokens?: number } | null };
        if (parsed.object !== 'chat.completion.chunk') return failed(start, res.status, `unexpected chunk object ${String(parsed.object)}`, engine);
        const piece = parsed.choices?.[0]?.delta?.content;
        if (piece) {
          ttft ??= performance.now() - start;
          content += piece;
        }
        if (parsed.usage?.completion_tokens !== undefined) usage = parsed.usage.completion_tokens;
      }
    }
    if (!done) return failed(start, res.status, 'stream ended without data: [DONE]', engine);
    if (content.length === 0) return failed(start, res.status, 'stream carried no content', engine);
    if (usage === null) return failed(start, res.status, 'stream carried no usage chunk although include_usage was asked', engine);
    return { ok: true, total_ms: performance.now() - start, ttft_ms: ttft, engine, status: res.status, completion_tokens: usage };
  } catch (err) {
    return failed(start, null, `no answer from ${url}: ${(err as Error).message}`);
  }
}

export async function quickTest(url: string, model: string, apiKey?: string, timeoutMs = 60_000): Promise<QuickTestResult> {
  const c = await completion(url, model, apiKey, timeoutMs);
  const s = await streamedChat(url, model, apiKey, timeoutMs);
  return { url, model, passed: c.ok && s.ok, completion: c, chat_stream: s };
}

export function formatQuickTest(node: string, r: QuickTestResult): string {
  const line = (name: string, p: ProbeResult) => p.ok
    ? `  ✅ ${name}: ${p.total_ms.toFixed(1)} ms (first token ${p.ttft_ms?.toFixed(1) ?? '-'} ms, ${p.completion_tokens} tokens${p.engine ? `, served by ${p.engine}` : ''})`
    : `  ❌ ${name}: ${p.error}`;
  return [`${r.passed ? '✅' : '❌'} ${node}: ${r.url} model ${r.model}`, line('completion', r.completion), line('streamed chat', r.chat_stream)].join('\n');
}
