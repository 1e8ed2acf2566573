// What the router needs from a client's headers, read in one pass over
// Node's raw name/value list: building req.headers costs an object and a
// lookup per header on every request, and the forwarding list needs a pass anyway.
import { HOP_BY_HOP } from '../http1/header-bytes.js';

/**
 * Never sent on to the engine: hop-by-hop, or set by the router itself.
 * `expect` is the client's conversation with the router (which answered
 * 100 Continue already); content-length and host are the engine pool's to write.
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'host', 'expect', 'authorization', 'content-type', 'content-length', 'x-request-id']);

export interface IncomingHeaders {
  requestId: string | null;
  authorization: string | null;
  contentType: string | null;
  /** The declared body size, or -1 when the client sent none (chunked). */
  contentLength: number;
  /** Host header lines: RFC 9112 §3.2 wants exactly one (HTTP/1.0 may send none). */
  hosts: number;
  /** The session key header's value, when the client sent one. */
  session: string | null;
  /** Name, value, name, value…: the client's end-to-end headers for the engine. */
  forward: string[];
}

/** `sessionHeader` must be lower-case. The first of repeated request id, authorization or session headers wins. */
export function scanHeaders(raw: string[], sessionHeader: string): IncomingHeaders {
  const out: IncomingHeaders = { requestId: null, authorization: null, contentType: null, contentLength: -1, hosts: 0, session: null, forward: [] };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === sessionHeader && out.session === null) out.session = value;
    if (!NOT_FORWARDED.has(lower)) {
      out.forward.push(name, value);
      continue;
    }
    if (lower === 'x-request-id') out.requestId ??= value;
    else if (lower === 'authorization') out.authorization ??= value;
    else if (lower === 'content-type') out.contentType ??= value;
    else if (lower === 'content-length') out.contentLength = Number(value);
    else if (lower === 'host') out.hosts++;
  }
  return out;
}
