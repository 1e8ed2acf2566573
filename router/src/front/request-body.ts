// What the router reads from a request body: the model that picks the
// engines (a JSON field, or a multipart form field for audio and image
// uploads), the session id, and the prompt text prefix-aware routing matches
// on. A JSON body nested deeper than MAX_JSON_DEPTH is refused before it is
// parsed: JSON.parse would build every level (a 2 MB body of brackets costs
// about 67 MB).
import { FormData, Response } from 'undici';
import { errors } from '../errors.js';

/** Deeper than any OpenAI request needs (a tool's JSON schema nests a few levels per object). */
export const MAX_JSON_DEPTH = 128;

const OPEN_SQUARE = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_SQUARE = 0x5d;
const CLOSE_CURLY = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when the JSON text nests arrays and objects deeper than `max` (strings are skipped). */
export function nestedDeeperThan(buf: Buffer, max: number): boolean {
  // A body shorter than the limit cannot hold enough brackets; nor can one with fewer opening brackets (a native count).
  if (buf.length <= max) return false;
  let openers = 0;
  for (let at = buf.indexOf(OPEN_SQUARE); at >= 0 && openers <= max; at = buf.indexOf(OPEN_SQUARE, at + 1)) openers++;
  for (let at = buf.indexOf(OPEN_CURLY); at >= 0 && openers <= max; at = buf.indexOf(OPEN_CURLY, at + 1)) openers++;
  if (openers <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_SQUARE || c === CLOSE_CURLY) depth--;
  }
  return false;
}

/** The body as a JSON object; throws the client's mistake as a 400. */
export function parseJsonBody(raw: Buffer): Record<string, unknown> {
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) throw errors.badRequest(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

const MULTIPART = /^multipart\/form-data\s*;/i;

export function isMultipart(contentType: string | null): boolean {
  // The first letter decides for nearly every request (application/json), without a regular expression.
  return contentType !== null && (contentType.charCodeAt(0) | 0x20) === 0x6d && MULTIPART.test(contentType);
}

export interface ParsedForm {
  model: string | null;
  /** Re-encodes the form with another model (an alias resolved): the new bytes and content type. */
  withModel(model: string): Promise<{ payload: Buffer; contentType: string }>;
}

/** Reads a multipart/form-data body (audio and image uploads) for its `model` field. */
export async function parseForm(raw: Buffer, contentType: string): Promise<ParsedForm> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw errors.badRequest(`the multipart/form-data body cannot be read: ${(err as Error).message}`);
  }
  const model = form.get('model');
  return {
    model: typeof model === 'string' && model !== '' ? model : null,
    withModel: async (m) => {
      form.set('model', m);
      const encoded = new Response(form);
      return { payload: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type') as string };
    },
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p as { text?: unknown })?.text).filter((t) => typeof t === 'string').join('');
  return '';
}

/**
 * The prompt text prefix-aware routing matches on: chat messages' text
 * (OpenAI or Anthropic, with a system prompt first), a completion's prompt,
 * or a Responses API input, joined by newlines.
 */
export function promptOf(body: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof body.system === 'string' || Array.isArray(body.system)) parts.push(textOf(body.system));
  if (typeof body.instructions === 'string') parts.push(body.instructions);
  if (Array.isArray(body.messages)) for (const m of body.messages) parts.push(textOf((m as { content?: unknown })?.content));
  if (typeof body.prompt === 'string') parts.push(body.prompt);
  else if (Array.isArray(body.prompt)) for (const p of body.prompt) if (typeof p === 'string') parts.push(p);
  if (typeof body.input === 'string') parts.push(body.input);
  else if (Array.isArray(body.input)) for (const i of body.input) parts.push(typeof i === 'string' ? i : textOf((i as { content?: unknown })?.content));
  return parts.join('\n');
}
