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

export interface ForwardedRoute {
  method: 'POST' | 'GET';
  /** Engine administration: sent to the engine ?id= names. */
  admin: boolean;
}

/** Every route as one object made here, so that looking one up costs a request no allocation. */
const ROUTES = new Map<string, ForwardedRoute>([
  ...Object.entries(PROXIED).map(([path, method]) => [path, { method, admin: false }] as const),
  ...Object.entries(ADMIN).map(([path, method]) => [path, { method, admin: true }] as const),
]);
const PREFIXED: ForwardedRoute = { method: 'POST', admin: false };

/** The route a path is forwarded by; null when it is none. */
export function forwardedRoute(path: string): ForwardedRoute | null {
  return ROUTES.get(path) ?? (PROXIED_PREFIXES.some((p) => path.startsWith(p)) ? PREFIXED : null);
}

/** The path without the root path: routes are served with and without it, as production-stack's FastAPI app serves them. */
export function withoutRootPath(path: string, rootPath: string): string {
  return rootPath !== '' && (path === rootPath || path.startsWith(`${rootPath}/`)) ? path.slice(rootPath.length) || '/' : path;
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
