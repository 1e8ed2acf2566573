// The KV side channel between two engine processes (NIXL's role): a TCP
// connection carrying one JSON line each way. `put` pushes a prompt's blocks
// to a consumer (LMCache NIXL sender → receiver); `get` pulls blocks a
// producer holds (vLLM's NixlConnector, orchestrated by the router). The
// modelled wire time is spent by the side that sends the blocks.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KvEntry } from './kv-store.js';

export type KvMessage =
  | { op: 'put'; key: string; blocks: number; tokens: number }
  | { op: 'get'; key: string };
export type KvReply = { ok: true; blocks: number; tokens: number } | { ok: false; error: string };

/** A line longer than this is not a KV message: the connection is dropped. */
const MAX_LINE = 64 * 1024;

function readLine(socket: Socket, onLine: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    const nl = buffered.indexOf('\n');
    if (nl >= 0) {
      socket.removeAllListeners('data');
      onLine(buffered.slice(0, nl));
    } else if (buffered.length > MAX_LINE) socket.destroy();
  });
}

export interface KvHandlers {
  /** A pushed prompt's blocks arrived. */
  received(key: string, entry: KvEntry): void;
  /** A consumer asks for held blocks: the entry, or null; the handler spends the wire time before it resolves. */
  pull(key: string): Promise<KvEntry | null>;
}

export class KvListener {
  private readonly server: Server;

  constructor(handlers: KvHandlers) {
    this.server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      readLine(socket, (line) => {
        let msg: KvMessage;
        try {
          msg = JSON.parse(line) as KvMessage;
        } catch {
          socket.end(`${JSON.stringify({ ok: false, error: 'not a JSON line' })}\n`);
          return;
        }
        if (msg.op === 'put' && typeof msg.key === 'string' && Number.isInteger(msg.blocks) && Number.isInteger(msg.tokens)) {
          handlers.received(msg.key, { blocks: msg.blocks, tokens: msg.tokens });
          socket.end(`${JSON.stringify({ ok: true, blocks: msg.blocks, tokens: msg.tokens })}\n`);
        } else if (msg.op === 'get' && typeof msg.key === 'string') {
          handlers.pull(msg.key).then((e) => {
            socket.end(`${JSON.stringify(e ? { ok: true, ...e } : { ok: false, error: `no KV held for prompt ${msg.key}` })}\n`);
          }, () => socket.destroy());
        } else {
          socket.end(`${JSON.stringify({ ok: false, error: 'unknown KV message' })}\n`);
        }
      });
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Sends one message to host:port and returns the reply; fails on a refused or cut connection or after timeoutMs. */
export function kvRequest(host: string, port: number, msg: KvMessage, timeoutMs: number): Promise<KvReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`KV peer ${host}:${port} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`KV peer ${host}:${port} closed the connection without an answer`));
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(msg)}\n`));
    readLine(socket, (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as KvReply);
      } catch {
        reject(new Error(`KV peer ${host}:${port} answered something that is not JSON`));
      }
      socket.destroy();
    });
  });
}
