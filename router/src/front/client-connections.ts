// The clients' connections to Node's HTTP server: which have an answer in
// progress (an error on one must not write into it), which close once idle
// (after an error answer, or while draining on SIGTERM), and the answers
// written straight on a socket that has no request object: malformed HTTP, a
// request not complete in time. Nothing a client sends may crash the router.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody, errors, type RouterError } from '../errors.js';
import type { Logger } from '../logger.js';

/** How long a connection closed after an error answer may linger, so the client reads the answer before the close. */
const LINGER_MS = 1000;

export class ClientConnections {
  /** SIGTERM: answers say connection: close, and connections close once idle. */
  private draining = false;
  /** node:http answers in progress, by connection: an error on a busy connection must not write into an answer. */
  private readonly busy = new WeakMap<Socket, number>();
  /** Connections to close once their answers in progress are out. */
  private readonly closeWhenIdle = new WeakSet<Socket>();
  private readonly nodeResponses = new Set<ServerResponse>();

  /** The limits named in the errors answered: --client-request-timeout (s) and --max-body-size (bytes). */
  constructor(private readonly server: Server, private readonly log: Logger, private readonly limits: { clientRequestTimeout: number; maxBodySize: number }) {}

  /** A node:http answer begins on this connection. */
  track(socket: Socket, res: ServerResponse): void {
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    this.nodeResponses.add(res);
    if (this.draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      this.nodeResponses.delete(res);
      const left = (this.busy.get(socket) ?? 1) - 1;
      this.busy.set(socket, left);
      if (left === 0 && this.closeWhenIdle.has(socket)) socket.end();
      // Draining: a keep-alive connection that just went idle closes now, not at its keep-alive timeout.
      if (this.draining) setImmediate(() => this.server.closeIdleConnections());
    });
  }

  /** From now on every answer closes its connection. */
  drain(): void {
    this.draining = true;
    for (const res of this.nodeResponses) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /**
   * Answers an error straight on a socket that has no request object (bad
   * HTTP, a request not complete in time) and closes the connection, after a
   * moment for the client to read the answer.
   */
  answerOnSocket(socket: Socket, err: RouterError): void {
    const requestId = randomUUID();
    if (this.log.enabled('info')) this.log.log('info', 'request', { id: requestId, status: err.status, error: err.code });
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = errorBody(err);
    socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /** Node's parser refused what a client sent, or its request was not complete in time. */
  clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable || this.closeWhenIdle.has(socket)) {
      if (!this.closeWhenIdle.has(socket)) socket.destroy();
      return;
    }
    if ((this.busy.get(socket) ?? 0) > 0) {
      // An answer is being written on this connection: nothing may go into the middle of it. It closes once the answer is out.
      this.closeWhenIdle.add(socket);
      return;
    }
    this.closeWhenIdle.add(socket);
    const e = err.code === 'HPE_HEADER_OVERFLOW' ? errors.headersTooLarge()
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? errors.requestTimeout(this.limits.clientRequestTimeout)
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? errors.tooLarge(this.limits.maxBodySize)
          : errors.badHttp((err as { reason?: string }).reason ?? err.message);
    this.answerOnSocket(socket, e);
  }
}
