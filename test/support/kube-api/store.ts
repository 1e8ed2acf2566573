// The object store of the Kubernetes API test server: objects by resource,
// one cluster-wide resourceVersion counter (etcd's revision), the event log
// that watches replay from, and compaction, after which a watch from an older
// resourceVersion gets 410 Gone. Label selectors are parsed here too.
import { randomUUID } from 'node:crypto';

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMeta;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  resource: string;
  type: WatchEventType;
  object: KubeObject;
}

// --- label selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/) ---

type Requirement = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {}

/** Equality (=, ==, !=), set (in, notin) and existence (key, !key) requirements, ANDed. */
export function parseLabelSelector(text: string | null): Requirement {
  if (!text) return () => true;
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const reqs = parts.map((raw): Requirement => {
    const part = raw.trim();
    let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in' ? (l) => l[key] !== undefined && values.has(l[key]) : (l) => l[key] === undefined || !values.has(l[key]);
    }
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m) {
      const [, not, key] = m as unknown as [string, string, string];
      return not ? (l) => !(key in l) : (l) => key in l;
    }
    throw new SelectorError(`unable to parse requirement: "${part}"`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

/** Only metadata.name and metadata.namespace, the field selectors every resource supports. */
export function parseFieldSelector(text: string | null): (obj: KubeObject) => boolean {
  if (!text) return () => true;
  const checks = text.split(',').map((part) => {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new SelectorError(`field label not supported: "${part.trim()}" (this server knows metadata.name and metadata.namespace)`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (o: KubeObject) => (field === 'metadata.name' ? o.metadata.name : o.metadata.namespace ?? '');
    return op === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (obj) => checks.every((c) => c(obj));
}

// --- the store ---

export interface WatchFilter {
  resource: string;
  namespace: string | null;
  matches: (obj: KubeObject) => boolean;
}

export type Listener = (event: StoredEvent) => void;

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
export const clone = <T>(v: T): T => structuredClone(v);

export class ObjectStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly log: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();
  /** The newest revision; every write takes the next one. */
  revision = 1;
  /** Watches from a resourceVersion below this one get 410 Gone. */
  oldestWatchable = 1;

  private table(resource: string): Map<string, KubeObject> {
    let t = this.objects.get(resource);
    if (!t) this.objects.set(resource, (t = new Map()));
    return t;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.table(resource).get(key(namespace, name));
    return o && clone(o);
  }

  list(resource: string, filter: (o: KubeObject) => boolean = () => true): KubeObject[] {
    return [...this.table(resource).values()].filter(filter).map(clone).sort((a, b) => key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)));
  }

  /** Creates or replaces; stamps uid, creationTimestamp and the next resourceVersion. */
  write(resource: string, obj: KubeObject): KubeObject {
    const t = this.table(resource);
    const k = key(obj.metadata.namespace, obj.metadata.name);
    const old = t.get(k);
    const stored = clone(obj);
    stored.metadata.uid = old?.metadata.uid ?? stored.metadata.uid ?? randomUUID();
    stored.metadata.creationTimestamp = old?.metadata.creationTimestamp ?? stored.metadata.creationTimestamp ?? new Date().toISOString();
    stored.metadata.resourceVersion = String(++this.revision);
    t.set(k, stored);
    this.emit({ rv: this.revision, resource, type: old ? 'MODIFIED' : 'ADDED', object: clone(stored) });
    return clone(stored);
  }

  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = this.table(resource);
    const k = key(namespace, name);
    const old = t.get(k);
    if (!old) return undefined;
    t.delete(k);
    old.metadata.resourceVersion = String(++this.revision);
    this.emit({ rv: this.revision, resource, type: 'DELETED', object: clone(old) });
    return clone(old);
  }

  /** Events after a resourceVersion, or null when it is older than what is kept (410 Gone). */
  since(rv: number): StoredEvent[] | null {
    if (rv < this.oldestWatchable - 1) return null;
    return this.log.filter((e) => e.rv > rv).map(clone);
  }

  /** Forget the event log, as etcd compaction does: older resourceVersions can no longer be watched from. */
  compact(): void {
    this.log.length = 0;
    this.oldestWatchable = this.revision + 1;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoredEvent): void {
    this.log.push(event);
    for (const l of [...this.listeners]) l(clone(event));
  }
}
