// What an active health check sends to an engine: with a model type, a tiny
// real request of that type (as production-stack's static health checks do,
// so an engine that answers /health but cannot serve fails); without one,
// GET /health.
import { request } from 'undici';
import type { ModelType } from '../discovery/index.js';

const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const PROBES: Record<Exclude<ModelType, 'transcription'>, { path: string; body: Record<string, unknown> }> = {
  chat: { path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'Hello' }], temperature: 0, max_tokens: 3 } },
  completion: { path: '/v1/completions', body: { prompt: 'Hello', max_tokens: 3 } },
  embeddings: { path: '/v1/embeddings', body: { input: 'Hello' } },
  rerank: { path: '/v1/rerank', body: { query: 'Hello', documents: ['Test'] } },
  score: { path: '/v1/score', body: { encoding_format: 'float', text_1: 'Test', text_2: 'Test2' } },
  vision: { path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply yes' }, { type: 'image_url', image_url: { url: PIXEL } }] }], max_tokens: 3 } },
  messages: { path: '/v1/messages', body: { messages: [{ role: 'user', content: 'Hello' }], temperature: 0, max_tokens: 3 } },
};

/** 0.1 s of 16 kHz mono silence as a WAV file. */
function silentWav(): Buffer {
  const samples = 1600;
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16_000, 24);
  b.writeUInt32LE(32_000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(samples * 2, 40);
  return b;
}

function transcriptionForm(model: string): { body: Buffer; contentType: string } {
  const boundary = 'vllm-router-health-check';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="model"\r\n\r\n${model}\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="silence.wav"\r\ncontent-type: audio/wav\r\n\r\n`),
    silentWav(),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** True when the engine passes the check within `timeoutMs`. */
export async function probe(baseUrl: string, model: string | null, type: ModelType | null, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  try {
    let res;
    if (type === null || model === null) {
      res = await request(`${baseUrl}/health`, { headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } else if (type === 'transcription') {
      const form = transcriptionForm(model);
      res = await request(`${baseUrl}/v1/audio/transcriptions`, { method: 'POST', headers: { ...headers, 'content-type': form.contentType }, body: form.body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } else {
      const p = PROBES[type];
      res = await request(`${baseUrl}${p.path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ model, ...p.body }), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    }
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300;
  } catch {
    return false;
  }
}
