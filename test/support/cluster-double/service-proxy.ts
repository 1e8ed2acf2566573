// The cluster double's kube-proxy: every Service's cluster IP (an address of
// the double's own loopback range, see ClusterDouble) listens on the
// Service's ports, for pods that reach a Service by name (cluster-dns.ts); and
// every NodePort or LoadBalancer Service's node ports listen on the node's
// address, for clients outside the cluster. Each connection goes to a ready,
// not terminating pod the Service selects (in turn), at the Service port's
// targetPort (a number, or a container port's name). As kube-proxy, it
// follows the Services and pods as they change; a Service with no ready pod
// refuses the connection.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KubeObject, ObjectStore } from '../kube-api/store.js';
import { isReady } from '../kube-api/workloads.js';

interface ServicePort { name?: string; port: number; targetPort?: number | string; nodePort?: number }
interface ServiceSpec { type?: string; clusterIP?: string; selector?: Record<string, string>; ports?: ServicePort[] }
interface PodSpec { containers?: { ports?: { name?: string; containerPort: number }[] }[] }

/** What one listener serves: a Service (namespace/name) and which of its ports. */
interface Route { service: string; port: (p: ServicePort) => boolean; id: string }

export class ServiceProxy {
  /** address:port → its listener and the route it serves. */
  private readonly listeners = new Map<string, { server: Server; route: Route; listening: Promise<void> }>();
  private readonly sockets = new Set<Socket>();
  private turn = 0;
  private readonly unsubscribe: () => void;

  /** clusterIps: whether a cluster IP is one of the double's own (an address it can listen on). */
  constructor(private readonly store: ObjectStore, private readonly nodeAddress: string, private readonly clusterIps: (ip: string) => boolean) {
    this.unsubscribe = store.subscribe((e) => {
      if (e.resource === 'services') this.sync();
    });
    this.sync();
  }

  /** Listens where the Services say, and stops listening where they no longer do. */
  private sync(): void {
    const wanted = new Map<string, Route>();
    for (const svc of this.store.list('services')) {
      const spec = (svc.spec ?? {}) as ServiceSpec;
      const service = `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
      for (const p of spec.ports ?? []) {
        if (spec.clusterIP && this.clusterIps(spec.clusterIP)) wanted.set(`${spec.clusterIP}:${p.port}`, { service, port: (q) => q.port === p.port, id: `${service}:${p.port}` });
        if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort) {
          wanted.set(`${this.nodeAddress}:${p.nodePort}`, { service, port: (q) => q.nodePort === p.nodePort, id: `${service}:node:${p.nodePort}` });
        }
      }
    }
    for (const [where, l] of this.listeners) {
      if (wanted.get(where)?.id !== l.route.id) {
        l.server.close();
        this.listeners.delete(where);
      }
    }
    for (const [where, route] of wanted) {
      if (this.listeners.has(where)) continue;
      const [address, port] = [where.slice(0, where.lastIndexOf(':')), Number(where.slice(where.lastIndexOf(':') + 1))];
      const server = createServer((socket) => this.proxy(socket, route));
      // A port taken by another program on this machine: the Service cannot be reached there, as on a node whose port is in use.
      const listening = new Promise<void>((resolve) => {
        server.once('listening', resolve);
        server.on('error', () => {
          this.listeners.delete(where);
          resolve();
        });
      });
      server.listen(port, address);
      this.listeners.set(where, { server, route, listening });
    }
  }

  private proxy(socket: Socket, route: Route): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const dest = this.endpoint(route);
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

  /** The next ready pod of the Service, and its port for the route's Service port. */
  private endpoint(route: Route): { host: string; port: number } | null {
    const [namespace, name] = route.service.split('/') as [string, string];
    const svc = this.store.get('services', namespace, name);
    const spec = (svc?.spec ?? {}) as ServiceSpec;
    const port = spec.ports?.find(route.port);
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

  /** Resolves once every address the Services have is listening (or failed to). */
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
