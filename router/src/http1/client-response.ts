// The answer to a client as the router writes it: Node's ServerResponse
// fits this shape, and so does the fast path's FastResponse.

export interface ClientResponse {
  /** True once writeHead has been called. */
  readonly headersSent: boolean;
  /** True once the connection is gone (closed or reset). */
  readonly destroyed: boolean;
  /** True once the whole answer has been handed to the socket. */
  readonly writableFinished: boolean;
  /** `headers` is a flat name, value list. Nothing is sent before flushHeaders, write or end. */
  writeHead(status: number, headers: string[]): unknown;
  flushHeaders(): void;
  /** False when the client's socket is full: wait for 'drain'. */
  write(chunk: Buffer): boolean;
  end(body?: string | Buffer): unknown;
  destroy(): unknown;
  /** 'close': the client went away (or the answer ended); 'drain': writing may go on. */
  once(event: 'close' | 'drain', listener: () => void): unknown;
}
