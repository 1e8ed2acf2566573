// Engines as Kubernetes pods would have them: distinct addresses
// (127.0.0.2, 127.0.0.3, ...) all listening on one container port.
import { createServer, type Server } from 'node:net';

function bind(host: string, port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, host, () => resolve(s));
  });
}

/** A port that is free on every one of the hosts at once. */
export async function sharedFreePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bind(hosts[0] ?? '127.0.0.2', 0);
    if (!first) continue;
    const port = (first.address() as { port: number }).port;
    const held = [first];
    let ok = true;
    for (const host of hosts.slice(1)) {
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
