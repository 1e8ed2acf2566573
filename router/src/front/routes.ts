// The routes the front proxies to engines, and how a request's URL is read:
// the path (with or without --root-path) and the query, less the ?id= that
// names an engine for the router.
import { LORA_ADMIN_ROUTES } from '../lora/index.js';

/** Routes proxied to an engine chosen by the request's model, and the method each takes. */
const PROXIED: Record<string, 'POST' | 'GET'> = {
  '/v1/chat/completions': 'POST', '/v1/completions': 'POST', '/v1/embeddings': 'POST', '/tokenize': 'POST', '/detokenize': 'POST',
  '/v1/responses': 'POST', '/v1/rerank': 'POST', '/rerank': 'POST', '/v1/score': 'POST', '/score': 'POST', '/v1/messages': 'POST',
  '/v1/audio/voices': 'GET',
};
/** Every POST under these is proxied too (speech, transcriptions, translations; generations, edits, …). */
const PROXIED_PREFIXES = ['/v1/audio/', '/v1/images/'];
/** Engine administration, sent to the engine named by ?id= (production-stack's sleep mode routes). */
const ADMIN: Record<string, 'POST' | 'GET'> = {
  '/sleep': 'POST', '/wake_up': 'POST', '/is_sleeping': 'GET', ...Object.fromEntries(LORA_ADMIN_ROUTES.map((r) => [r, 'POST' as const])),
};

/** The method a forwarded route takes and whether it is engine administration; null when the path is no such route. */
export function forwardedRoute(path: string): { method: 'POST' | 'GET'; admin: boolean } | null {
  const admin = ADMIN[path];
  if (admin) return { method: admin, admin: true };
  const proxied = PROXIED[path] ?? (PROXIED_PREFIXES.some((p) => path.startsWith(p)) ? 'POST' : undefined);
  return proxied ? { method: proxied, admin: false } : null;
}

/** The path, served with and without the root path (as production-stack's FastAPI app is), and the query ('' for none). */
export function splitUrl(url: string, rootPath: string): { path: string; query: string } {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (rootPath !== '' && (path === rootPath || path.startsWith(`${rootPath}/`))) path = path.slice(rootPath.length) || '/';
  return { path, query: q < 0 ? '' : url.slice(q + 1) };
}

const NO_QUERY = { id: null, rest: '' } as const;

/** The query string without `id` (which names an engine for the router), '' when nothing is left. */
export function queryWithoutId(query: string): { id: string | null; rest: string } {
  if (query === '') return NO_QUERY;
  const params = new URLSearchParams(query);
  const id = params.get('id');
  params.delete('id');
  const rest = params.toString();
  return { id, rest: rest === '' ? '' : `?${rest}` };
}
