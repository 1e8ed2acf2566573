// Engines as Kubernetes pods would have them: distinct addresses
// (127.0.0.2, 127.0.0.3, ...) all listening on one container port.
import { createServer, type Server } from 'node:net';
import { freePortBase } from './temp-project.js';

function bind(host: string, port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, host, () => resolve(s));
  });
}

/**
 * A port free on every one of the hosts at once: from the reserved test blocks below the
 * ephemeral range (freePortBase), so that no concurrent test or client connection takes it.
 */
export async function sharedFreePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePortBase(1);
    const held: Server[] = [];
    let ok = true;
    for (const host of hosts) {
      const s = await bind(host, port);
      if (!s) {
        ok = false;
        break;
      }
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
