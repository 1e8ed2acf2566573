// Pod port-forwarding over WebSocket, the v4.channel.k8s.io protocol that
// kubectl and @kubernetes/client-node speak: each forwarded port has a data
// channel (2i) and an error channel (2i+1); every binary message starts with
// its channel byte, and the server first sends each channel's port number as
// two little-endian bytes. The server end connects to the pod's address (or
// where the test maps it) over TCP.
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';

export type ForwardTarget = (namespace: string, pod: string, port: number) => { host: string; port: number } | null;

export class PortForwarder {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (offered.has(PORT_FORWARD_PROTOCOL) ? PORT_FORWARD_PROTOCOL : false),
  });
  private readonly open = new Set<WebSocket>();

  constructor(private readonly target: ForwardTarget) {}

  /** Handles an upgrade request for /api/v1/namespaces/NS/pods/NAME/portforward?ports=P; false if the path is not one. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    if (!m) return false;
    const [, namespace, pod] = m as unknown as [string, string, string];
    const port = Number(url.searchParams.get('ports'));
    const dest = this.target(namespace, pod, port);
    if (!dest || !Number.isInteger(port)) {
      socket.end(`HTTP/1.1 ${dest ? 400 : 404} ${dest ? 'Bad Request' : 'Not Found'}\r\ncontent-length: 0\r\n\r\n`);
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.forward(ws, dest, port));
    return true;
  }

  closeAll(): void {
    for (const ws of this.open) ws.terminate();
    this.wss.close();
  }

  private forward(ws: WebSocket, dest: { host: string; port: number }, port: number): void {
    this.open.add(ws);
    const portBytes = [port & 0xff, port >> 8];
    ws.send(Buffer.from([0, ...portBytes]));
    ws.send(Buffer.from([1, ...portBytes]));
    const tcp = connect(dest.port, dest.host);
    tcp.on('data', (chunk: Buffer) => ws.send(Buffer.concat([Buffer.from([0]), chunk])));
    tcp.on('error', (err) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`error forwarding port ${port}: ${err.message}`)]));
      ws.close();
    });
    tcp.on('close', () => ws.close());
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0 && data.length > 1) tcp.write(data.subarray(1));
    });
    ws.on('close', () => {
      this.open.delete(ws);
      tcp.destroy();
    });
  }
}
