// Which of these ports can this machine not bind? Asked by binding, the only
// answer that does not race with a stale `ss` listing.
import { createServer } from 'node:net';

function busy(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

export async function portsInUse(ports: number[], host = '127.0.0.1'): Promise<number[]> {
  const results = await Promise.all(ports.map(async (port) => ((await busy(port, host)) ? port : null)));
  return results.filter((p): p is number => p !== null);
}
