// A managed port-forward: a local TCP listener whose every connection is
// forwarded, through the API server (@kubernetes/client-node's PortForward),
// to a pod chosen at connect time. A pod that dies is simply not chosen again,
// so the forward survives rollouts and engine restarts; close() stops it.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeClient } from './access.js';

export type PodPicker = () => Promise<string | null>;

export class ManagedForward {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly pickPod: PodPicker,
    private readonly targetPort: number,
    private readonly describe: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(localPort = 0): Promise<this> {
    const { PortForward } = await kubeClient();
    const forward = new PortForward(this.kc);
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      void this.pickPod().then(async (pod) => {
        if (!pod) {
          socket.destroy();
          return;
        }
        const ws = await forward.portForward(this.namespace, pod, [this.targetPort], socket, null, socket);
        socket.on('close', () => (ws as { close?: () => void }).close?.());
      }).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(localPort, '127.0.0.1', () => resolve());
    });
    // A listener that fails later is replaced on the same port: the URL stays valid.
    server.on('error', () => {
      void this.close().then(() => this.start(this.port));
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** GET path through the forward; resolves with the status, rejects when nothing answers within the bound. */
  async check(path = '/health', timeoutMs = 10_000): Promise<number> {
    const res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } }).catch((err: Error) => {
      throw new Error(`${this.describe}: nothing answers through the port-forward ${this.url}${path}: ${err.message}`);
    });
    await res.arrayBuffer();
    return res.status;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
