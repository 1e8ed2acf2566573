// The models an engine serves, from its own GET /v1/models (with the engines'
// API key when there is one): what a discovered engine is routed for.
import { request } from 'undici';

export type ModelsFetcher = (baseUrl: string) => Promise<string[]>;

/** The ids of an OpenAI model list body; throws when the body is not one. */
export function modelIds(body: unknown): string[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error('the answer is not a model list ({"data": [...]})');
  const ids = data.map((m) => (m as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === 'string' && id !== '');
  if (ids.length === 0) throw new Error('the engine lists no model');
  return [...new Set(ids)];
}

export function modelsFetcher(engineAuth: Record<string, string>, timeoutMs: number): ModelsFetcher {
  return async (baseUrl) => {
    const res = await request(`${baseUrl}/v1/models`, { headers: engineAuth, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('the answer is not JSON');
    }
    return modelIds(body);
  };
}
