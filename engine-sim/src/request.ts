// Validation of OpenAI request bodies, as vLLM does it: wrong types and
// impossible lengths are 400s that name the offending field.
import { badRequest } from './errors.js';
import { parseKvTransferParams, type KvTransferRequest } from './pd/transfer-params.js';
import { chatPrompt, type ChatMessage } from './tokenizer.js';

export type RequestKind = 'chat' | 'completion';

export interface GenerationRequest {
  kind: RequestKind;
  model: string;
  prompt: string;
  /** null: as many as the context allows (vLLM's default for chat). */
  maxTokens: number | null;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  ignoreEos: boolean;
  /** Text to echo in echo mode: the last user message, or the prompt. */
  echoText: string;
  /** kv_transfer_params (disaggregated prefill, orchestrated), or null. */
  kvTransfer: KvTransferRequest | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalInt(body: Record<string, unknown>, field: string, min: number): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw badRequest(`${field} must be an integer of at least ${min}, got ${JSON.stringify(v)}`, field);
  return v;
}

function optionalBool(body: Record<string, unknown>, field: string): boolean {
  const v = body[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badRequest(`${field} must be a boolean, got ${JSON.stringify(v)}`, field);
  return v;
}

function messages(body: Record<string, unknown>): ChatMessage[] {
  const list = body.messages;
  if (!Array.isArray(list) || list.length === 0) throw badRequest('messages must be a non-empty array of {role, content}', 'messages');
  return list.map((m, i) => {
    if (!isObject(m) || typeof m.role !== 'string') throw badRequest(`messages[${i}] must be an object with a string role`, 'messages');
    const c = m.content;
    const ok = c === null || c === undefined || typeof c === 'string' || (Array.isArray(c) && c.every((p) => isObject(p) && typeof p.type === 'string'));
    if (!ok) throw badRequest(`messages[${i}].content must be a string or an array of content parts`, 'messages');
    return { role: m.role, content: (c ?? null) as ChatMessage['content'] };
  });
}

function completionPrompt(body: Record<string, unknown>): string {
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') return p[0];
  if (Array.isArray(p) && p.length > 1) throw badRequest('batched prompts are not supported by the simulator; send one prompt per request', 'prompt');
  throw badRequest('prompt must be a string', 'prompt');
}

export function parseGenerationRequest(kind: RequestKind, body: unknown): GenerationRequest {
  if (!isObject(body)) throw badRequest('the request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw badRequest('model must be a non-empty string', 'model');
  const n = optionalInt(body, 'n', 1);
  if (n !== null && n !== 1) throw badRequest('n must be 1: the simulator generates one choice per request', 'n');
  const maxTokens = optionalInt(body, 'max_completion_tokens', 1) ?? optionalInt(body, 'max_tokens', 1);
  const stream = optionalBool(body, 'stream');
  const so = body.stream_options;
  if (so !== undefined && so !== null && !isObject(so)) throw badRequest('stream_options must be an object', 'stream_options');
  const streamOptions = (so ?? {}) as Record<string, unknown>;
  let prompt: string;
  let echoText: string;
  if (kind === 'chat') {
    const list = messages(body);
    prompt = chatPrompt(list);
    const lastUser = [...list].reverse().find((m) => m.role === 'user');
    echoText = typeof lastUser?.content === 'string' ? lastUser.content : prompt;
  } else {
    prompt = completionPrompt(body);
    echoText = prompt;
  }
  return {
    kind, model: body.model, prompt,
    // OpenAI's default for completions is 16 tokens; chat runs to the context limit.
    maxTokens: maxTokens ?? (kind === 'completion' ? 16 : null),
    stream,
    includeUsage: stream && optionalBool(streamOptions, 'include_usage'),
    continuousUsage: stream && optionalBool(streamOptions, 'continuous_usage_stats'),
    ignoreEos: optionalBool(body, 'ignore_eos'),
    echoText,
    kvTransfer: parseKvTransferParams(body),
  };
}
