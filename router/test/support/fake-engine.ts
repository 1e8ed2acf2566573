// Engines that misbehave on purpose (hang, answer 500, die mid-stream), on
// loopback, counting what the router did to them: requests received, and
// those the router abandoned before the answer was finished.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';

export interface FakeEngine {
  url: string;
  /** Requests received (GET /health and /metrics scrapes not counted). */
  received: number;
  /** Requests whose connection the router closed before the answer ended. */
  abandoned: number;
  /** The headers of the last request received. */
  lastHeaders: IncomingMessage['headers'];
}

export type EngineHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Never answers: the request stays open until the router gives up on it. */
export const hang: EngineHandler = () => undefined;

export const answer500: EngineHandler = (_req, res) => {
  res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}');
};

export const answerOk: EngineHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"text_completion","choices":[{"text":"ok"}]}');
};

/** Starts a fake engine; GET /health answers 200 and /metrics an empty text, whatever the handler. */
export async function fakeEngine(t: TestContext, handler: EngineHandler): Promise<FakeEngine> {
  const state: FakeEngine = { url: '', received: 0, abandoned: 0, lastHeaders: {} };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/metrics' || req.url === '/v1/models')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.url === '/v1/models' ? '{"object":"list","data":[]}' : '');
      return;
    }
    state.received++;
    state.lastHeaders = req.headers;
    res.on('close', () => {
      if (!res.writableFinished) state.abandoned++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return state;
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
