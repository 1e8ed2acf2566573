// The cluster double's kube-proxy for node ports: every NodePort or
// LoadBalancer Service's node ports listen on the node's address, and each
// connection goes to a ready, not terminating pod the Service selects (in
// turn), at the Service port's targetPort (a number, or a container port's
// name). As kube-proxy, it follows the Services and pods as they change; a
// Service with no ready pod refuses the connection.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KubeObject, ObjectStore } from '../kube-api/store.js';
import { isReady } from '../kube-api/workloads.js';

interface ServicePort { name?: string; port: number; targetPort?: number | string; nodePort?: number }
interface ServiceSpec { type?: string; selector?: Record<string, string>; ports?: ServicePort[] }
interface PodSpec { containers?: { ports?: { name?: string; containerPort: number }[] }[] }

const serviceKey = (svc: KubeObject) => `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;

export class NodePorts {
  /** nodePort → its listener and the Service it serves. */
  private readonly listeners = new Map<number, { server: Server; service: string; listening: Promise<void> }>();
  private readonly sockets = new Set<Socket>();
  private turn = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: ObjectStore, private readonly address: string) {
    this.unsubscribe = store.subscribe((e) => {
      if (e.resource === 'services') this.sync();
    });
    this.sync();
  }

  /** Listens on every node port the Services have, and stops listening on those they no longer have. */
  private sync(): void {
    const wanted = new Map<number, string>();
    for (const svc of this.store.list('services')) {
      const spec = (svc.spec ?? {}) as ServiceSpec;
      if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') continue;
      for (const p of spec.ports ?? []) if (p.nodePort) wanted.set(p.nodePort, serviceKey(svc));
    }
    for (const [port, l] of this.listeners) {
      if (wanted.get(port) !== l.service) {
        l.server.close();
        this.listeners.delete(port);
      }
    }
    for (const [port, service] of wanted) {
      if (this.listeners.has(port)) continue;
      const server = createServer((socket) => this.proxy(socket, service, port));
      // A node port taken by another program on this machine: the Service cannot be reached there, as on a node whose port is in use.
      const listening = new Promise<void>((resolve) => {
        server.once('listening', resolve);
        server.on('error', () => {
          this.listeners.delete(port);
          resolve();
        });
      });
      server.listen(port, this.address);
      this.listeners.set(port, { server, service, listening });
    }
  }

  private proxy(socket: Socket, service: string, nodePort: number): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const dest = this.endpoint(service, nodePort);
    if (!dest) {
      socket.resetAndDestroy();
      return;
    }
    const upstream = connect(dest.port, dest.host);
    upstream.setNoDelay(true);
    socket.setNoDelay(true);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }

  /** The next ready pod of the Service, and its port for this node port. */
  private endpoint(service: string, nodePort: number): { host: string; port: number } | null {
    const [namespace, name] = service.split('/') as [string, string];
    const svc = this.store.get('services', namespace, name);
    const spec = (svc?.spec ?? {}) as ServiceSpec;
    const port = spec.ports?.find((p) => p.nodePort === nodePort);
    const selector = Object.entries(spec.selector ?? {});
    if (!port || selector.length === 0) return null;
    const pods = this.store.list('pods', (p) => p.metadata.namespace === namespace && !p.metadata.deletionTimestamp && isReady(p)
      && selector.every(([k, v]) => p.metadata.labels?.[k] === v));
    if (pods.length === 0) return null;
    const pod = pods[this.turn++ % pods.length] as KubeObject;
    const target = port.targetPort ?? port.port;
    const containerPort = typeof target === 'number' ? target
      : ((pod.spec ?? {}) as PodSpec).containers?.flatMap((c) => c.ports ?? []).find((p) => p.name === target)?.containerPort;
    const host = (pod.status as { podIP?: string } | undefined)?.podIP;
    return host && containerPort ? { host, port: containerPort } : null;
  }

  /** Resolves once every node port the Services have is listening (or failed to). */
  async settled(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.listening));
  }

  close(): void {
    this.unsubscribe();
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
  }
}
