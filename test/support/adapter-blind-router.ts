// A router that ignores LoRA adapters, as production-stack's did when users
// reported adapters unreachable (#331): it lists only the base model and
// sends every request round robin to the engines, whatever its model. The
// lora suite must fail against it.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BlindRouter {
  url: string;
  close(): Promise<void>;
}

export async function adapterBlindRouter(engineUrls: string[], model: string): Promise<BlindRouter> {
  let turn = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', parent: null, root: model }] }));
      return;
    }
    const target = new URL(req.url ?? '/', engineUrls[turn++ % engineUrls.length]);
    const up = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
