// One watch stream of the Kubernetes API test server, as
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
// describes it: newline-delimited JSON events {type, object}. Without a
// resourceVersion (or with "0") the watch starts with a synthetic ADDED per
// existing object; with one, it replays what changed after it, or sends an
// ERROR event carrying a 410 Expired Status and closes when that version is
// compacted away. Objects that start or stop matching the label selector are
// ADDED or DELETED for this watch, as the API server's watch cache does.
import type { ServerResponse } from 'node:http';
import { statusObject } from './status.js';
import type { KubeObject, ObjectStore, StoredEvent, WatchFilter } from './store.js';

const objKey = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export interface WatchOptions {
  resourceVersion: string | null;
  allowBookmarks: boolean;
  /** sendInitialEvents=true (the watch-list that client-go 1.35 uses): ADDED per object, then a BOOKMARK marking the end of them. */
  sendInitialEvents?: boolean;
  timeoutSeconds: number | null;
}

export class WatchStream {
  private readonly seen = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly filter: WatchFilter,
    private readonly res: ServerResponse,
    readonly options: WatchOptions,
    private readonly kind: { apiVersion: string; kind: string },
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  start(): void {
    const { resourceVersion } = this.options;
    this.res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    // Clients wait for the headers before reading events; send them even when no event is due.
    this.res.flushHeaders();
    this.res.on('close', () => this.finish());
    const current = this.store.list(this.filter.resource, (o) => this.inScope(o));
    if (resourceVersion === null || resourceVersion === '' || resourceVersion === '0' || this.options.sendInitialEvents) {
      for (const o of current.filter((c) => this.filter.matches(c))) {
        this.seen.add(objKey(o));
        this.send('ADDED', o);
      }
      if (this.options.sendInitialEvents) this.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: this.kind.kind, apiVersion: this.kind.apiVersion, metadata: { resourceVersion: String(this.store.revision), annotations: { 'k8s.io/initial-events-end': 'true' } } } })}\n`);
    } else {
      const events = this.store.since(Number(resourceVersion));
      if (events === null || !/^\d+$/.test(resourceVersion)) {
        this.expire(`too old resource version: ${resourceVersion} (${this.store.oldestWatchable})`);
        return;
      }
      const mine = events.filter((e) => e.resource === this.filter.resource && this.inScope(e.object));
      const first = new Map<string, StoredEvent>();
      for (const e of mine) if (!first.has(objKey(e.object))) first.set(objKey(e.object), e);
      // What this client saw at its resourceVersion: objects untouched since, and those whose first later event is not their creation.
      for (const o of current) if (!first.has(objKey(o)) && this.filter.matches(o)) this.seen.add(objKey(o));
      for (const [k, e] of first) if (e.type !== 'ADDED' && this.filter.matches(e.object)) this.seen.add(k);
      for (const e of mine) this.deliver(e);
    }
    this.unsubscribe = this.store.subscribe((e) => {
      if (e.resource === this.filter.resource && this.inScope(e.object)) this.deliver(e);
    });
    if (this.options.timeoutSeconds !== null) this.timer = setTimeout(() => this.end(), this.options.timeoutSeconds * 1000);
  }

  /** A BOOKMARK event at the newest revision, if the client asked for bookmarks. */
  bookmark(): void {
    if (!this.options.allowBookmarks || this.closed) return;
    this.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: this.kind.kind, apiVersion: this.kind.apiVersion, metadata: { resourceVersion: String(this.store.revision) } } })}\n`);
  }

  /** The 410 ERROR event, then the end of the stream: the client must list again. */
  expire(message = 'the watch cache was compacted'): void {
    if (this.closed) return;
    this.res.write(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', message) })}\n`);
    this.end();
  }

  /** A clean end of the stream, as at timeoutSeconds. */
  end(): void {
    if (!this.closed) this.res.end();
    this.finish();
  }

  /** The connection cut without an end, as a load balancer dropping it. */
  drop(): void {
    this.res.socket?.destroy();
    this.finish();
  }

  private inScope(o: KubeObject): boolean {
    return this.filter.namespace === null || o.metadata.namespace === this.filter.namespace;
  }

  private deliver(e: StoredEvent): void {
    const k = objKey(e.object);
    const was = this.seen.has(k);
    if (e.type === 'DELETED') {
      if (was) this.send('DELETED', e.object);
      this.seen.delete(k);
      return;
    }
    const now = this.filter.matches(e.object);
    if (now) {
      this.seen.add(k);
      this.send(was ? 'MODIFIED' : 'ADDED', e.object);
    } else if (was) {
      this.seen.delete(k);
      this.send('DELETED', e.object);
    }
  }

  private send(type: string, object: KubeObject): void {
    if (!this.closed) this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.onClose(this);
  }
}
