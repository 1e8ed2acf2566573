// The router's own errors, answered: the OpenAI shape with the request id,
// and a request line in the log. The front answers the client's mistakes
// with it, the forwarder what went wrong on the way to an engine.
import { errorBody, RouterError } from './errors.js';
import type { ClientResponse } from './http1/client-response.js';
import type { Logger } from './logger.js';

const JSON_HEADERS = ['content-type', 'application/json'];

/** Any error that is not a RouterError is the router's own fault: a 500. */
export function answerError(log: Logger, path: string, res: ClientResponse, err: unknown, requestId: string): void {
  const e = err instanceof RouterError ? err : new RouterError(500, 'internal_error', `router error: ${(err as Error).message}`);
  if (log.enabled('info')) log.log('info', 'request', { id: requestId, path, status: e.status, error: e.code });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(e.status, [...JSON_HEADERS, 'x-request-id', requestId, ...Object.entries(e.headers).flat()]);
  res.end(errorBody(e));
}
