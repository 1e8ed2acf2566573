// The router's errors: each a stable code and HTTP status, all sent in the
// OpenAI shape {error: {message, type, param, code}}.

export class RouterError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly param: string | null = null, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export const errors = {
  badRequest: (m: string, param: string | null = null) => new RouterError(400, 'invalid_request', m, param),
  unauthorized: () => new RouterError(401, 'unauthorized', 'a valid Authorization: Bearer key is required'),
  notFound: (m: string) => new RouterError(404, 'not_found', m),
  tooLarge: (limit: number) => new RouterError(413, 'body_too_large', `request body exceeds the limit of ${limit} bytes`),
  tooMany: (limit: number) => new RouterError(429, 'too_many_requests', `the router has ${limit} requests in flight, its --max-concurrency; retry shortly`, null, { 'retry-after': '1' }),
  badGateway: (m: string) => new RouterError(502, 'engine_unreachable', m),
  unavailable: (m: string) => new RouterError(503, 'no_engine', m),
  timeout: (s: number) => new RouterError(504, 'engine_timeout', `no response from the engine within --request-timeout ${s} s`),
  streamIdle: (s: number) => new RouterError(504, 'engine_timeout', `the engine sent nothing for --stream-idle-timeout ${s} s`),
  streamBroken: (m: string) => new RouterError(502, 'engine_stream_broken', `the engine's answer broke off: ${m}`),
  requestTimeout: (s: number) => new RouterError(408, 'request_timeout', `the request was not complete within --client-request-timeout ${s} s`),
  headersTooLarge: () => new RouterError(431, 'headers_too_large', 'the request head is larger than the router accepts'),
  badHttp: (m: string) => new RouterError(400, 'invalid_request', `malformed HTTP request: ${m}`),
};

export function errorBody(err: RouterError): string {
  return JSON.stringify({ error: { message: err.message, type: err.code, param: err.param, code: err.status } });
}
