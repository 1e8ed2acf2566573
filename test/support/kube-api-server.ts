// A Kubernetes API test server: a small real HTTP server that speaks what the
// harness's Kubernetes code uses (KubeStack, the bring-up checks, the router's
// discovery), written from the Kubernetes API documentation
// (https://kubernetes.io/docs/reference/using-api/api-concepts/). Tests point
// @kubernetes/client-node at it through a kubeconfig it writes.
//
// Served (JSON; protobuf Secrets and YAML apply bodies as helm sends them; objects are
// validated against their schemas only with options.validate, as the cluster double does):
//   GET    /version
//   GET    /api, /apis, /api/v1, /apis/G, /apis/G/V           discovery, from kube-api/resources.ts (CRDs included)
//   GET    /openapi/v3[/GV], /openapi/v2                     only what client-go reads to leave validation to the server
//   GET    <prefix>[/namespaces/NS]/RESOURCE                list: {kind: XList, metadata.resourceVersion, items}
//          ?labelSelector= (=, ==, !=, in, notin, key, !key) &fieldSelector= (metadata.name, metadata.namespace)
//          ?watch=true&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N&sendInitialEvents=true
//                                                          watch: newline-delimited {type, object} events;
//                                                          no RV or "0": ADDED per existing object, then changes;
//                                                          RV: the changes after it, or an ERROR event with a
//                                                          410 Expired Status and the end of the stream when
//                                                          RV was compacted away (see compact())
//   GET    <prefix>/namespaces/NS/RESOURCE/NAME             get (404 NotFound Status)
//   POST   <prefix>[/namespaces/NS]/RESOURCE                create (409 AlreadyExists; metadata.generateName)
//   PUT    .../RESOURCE/NAME                                replace
//   PATCH  .../RESOURCE/NAME                                application/merge-patch+json, strategic-merge-patch+json
//                                                          (lists of named objects merged by name; kube-api/strategic-merge.ts)
//                                                          or json-patch+json (add/replace/remove);
//                                                          apply-patch+yaml: server-side apply, creating or updating
//          POST/PUT/PATCH/DELETE ?dryRun=All                 checked, not stored
//          POST/PUT/PATCH ?fieldValidation=Strict|Warn|Ignore  with options.validate, fields the kind does not
//                                                          declare (or a JSON body gives twice): refused (Strict), dropped with a Warning header
//                                                          (Warn, the default) or dropped (Ignore); refused by an
//                                                          apply whatever the directive (kube-api/admission.ts)
//   DELETE .../RESOURCE/NAME                                pods: gracePeriodSeconds (body DeleteOptions or query;
//                                                          default 30) > 0 sets deletionTimestamp and removes the
//                                                          pod when its lifecycle's stop() resolves; 0 removes it now
//   GET|PUT|PATCH /apis/apps/v1/namespaces/NS/{deployments,replicasets}/NAME/scale   autoscaling/v1 Scale
//   GET    /api/v1/namespaces/NS/pods/NAME/log?tailLines=N  text set by setPodLog()
//   GET|PUT|PATCH .../CUSTOMRESOURCE/NAME/status            a custom resource's status, when its CRD has the subresource
//   POST   /apis/authorization.k8s.io/v1/selfsubjectaccessreviews      status.allowed from options.authorize
//   WebSocket /api/v1/namespaces/NS/pods/NAME/portforward?ports=P     v4.channel.k8s.io, to the pod's
//                                                          status.podIP (or options.forwardTarget)
// Resources: those of kube-api/resources.ts (core, apps, rbac, policy, autoscaling, networking,
// coordination, apiextensions) and the custom resources of every stored CRD; anything else is 404.
// Every write takes the next cluster-wide resourceVersion. An object with metadata.finalizers is
// not removed by a DELETE but kept with a deletionTimestamp until an update empties its finalizers
// (none may be added meanwhile: 422; kube-api/finalizers.ts). Deleting an owner deletes what it owns
// (DeleteOptions.propagationPolicy: Background, the default; Orphan; Foreground, the owner kept
// with a deletionTimestamp until its dependents are gone),
// a Namespace its objects, a CRD its custom resources.
// Deployments and ReplicaSets are reconciled as the controller manager would (a Deployment owns a
// ReplicaSet per pod template, which owns the pods; see kube-api/workloads.ts), with options.pods
// deciding pod addresses and when they turn Ready.
// Requests need `Authorization: Bearer <token>` (401 otherwise; options.anonymous also lets requests
// without one in, for helm); options.authorize may refuse
// any request with 403 Forbidden, and answers SelfSubjectAccessReviews with the same rule.
//
// Test controls: put/get/list/remove/everything() objects directly, setPodReady(), updatePod(), setPodLog(),
// bookmark() (BOOKMARK events to watches that allow them), compact() (older resourceVersions
// give 410), expireWatches() (410 to open watches), endWatches() (clean end, as timeoutSeconds),
// dropWatches() (sockets cut), requests (every method + path + query seen), close().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { admit, dropUnknownFieldsOf, type FieldCheck } from './kube-api/admission.js';
import { storedDefaults, type ServiceAddress } from './kube-api/defaults.js';
import { coreVersions, group, groupList, OPENAPI_V2_PROTOBUF, openApiGroupVersion, openApiRoot, openApiV2, resourceList } from './kube-api/discovery.js';
import { PortForwarder, type ForwardTarget } from './kube-api/port-forward.js';
import { duplicateFields, FIELD_VALIDATIONS, fieldValidationOf, type Duplicate } from './kube-api/field-validation.js';
import { decodeProtobuf, PROTOBUF } from './kube-api/protobuf.js';
import { strategicMerge } from './kube-api/strategic-merge.js';
import { checkUpdate, markDeleting, mustWait } from './kube-api/finalizers.js';
import { ResourceRegistry, type CrdSpec, type ResourceType } from './kube-api/resources.js';
import { ApiError, sendError, sendJson } from './kube-api/status.js';
import { clone, ObjectStore, parseFieldSelector, parseLabelSelector, SelectorError, type KubeObject } from './kube-api/store.js';
import { WatchStream } from './kube-api/watch.js';
import { isReady, podReadyStatus, Workloads, type PodLifecycle, type PropagationPolicy } from './kube-api/workloads.js';

export type { KubeObject } from './kube-api/store.js';
export type { PodLifecycle } from './kube-api/workloads.js';
export { isReady } from './kube-api/workloads.js';

/** What a request (or a SelfSubjectAccessReview) asks to do. */
export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface KubeApiOptions {
  /** The bearer token clients must send (default: a random one, written into the kubeconfig). */
  token?: string;
  /**
   * Also serve requests without a token, as an API server with anonymous access does: client-go
   * (helm, kubectl) sends no bearer token to a plain-HTTP server.
   */
  anonymous?: boolean;
  /** true to allow; false or a reason to refuse. Default: everything allowed. */
  authorize?: (a: AccessAttributes) => boolean | string;
  pods?: PodLifecycle;
  forwardTarget?: ForwardTarget;
  /** Refuse to create a namespaced object in a namespace that does not exist (404), as a real API server does. Off by default: most tests put objects in namespaces they never create. */
  requireNamespaces?: boolean;
  /**
   * Refuse, as a real API server does, objects whose names or fields fail their kind's schema
   * (422 Invalid; see kube-api/admission.ts). Off by default: unit tests put in partial objects.
   */
  validate?: boolean;
  /** Services' cluster IPs (default: 10.96.x.y, reachable nowhere; the cluster double gives addresses its kube-proxy serves). */
  serviceAddress?: ServiceAddress;
}

export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

const MAX_BODY = 4 * 1024 * 1024;

interface Route {
  /** /api/v1 or /apis/GROUP/VERSION */
  prefix: string;
  resource: string;
  namespace: string | null;
  name: string | null;
  subresource: string | null;
  group: string;
}

function parsePath(pathname: string): Route | null {
  const m = /^(\/api\/v1|\/apis\/([^/]+)\/([^/]+))(\/.*)?$/.exec(pathname);
  if (!m) return null;
  const prefix = m[1] as string;
  const group = m[2] ?? '';
  const segs = (m[4] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  let namespace: string | null = null;
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    namespace = segs[1] ?? null;
    segs.splice(0, 2);
  }
  const [resource, name, subresource] = segs;
  if (!resource) return null;
  return { prefix, resource, namespace, name: name ?? null, subresource: subresource ?? null, group };
}

function verbOf(method: string, route: Route, watch: boolean): string {
  if (method === 'GET') return route.name ? 'get' : watch ? 'watch' : 'list';
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBytes(req);
  if (String(req.headers['content-type'] ?? '').startsWith(PROTOBUF) && bytes.length > 0) return decodeProtobuf(bytes);
  return parseBody(req, bytes.toString('utf8'));
}

/** The fields each JSON body gave twice, by the object it parsed to. */
const bodyDuplicates = new WeakMap<object, Duplicate[]>();
const duplicatesIn = (body: unknown): Duplicate[] => (body !== null && typeof body === 'object' ? bodyDuplicates.get(body) ?? [] : []);

/** JSON, or YAML for a server-side apply (application/apply-patch+yaml; client-go sends JSON, which is YAML too). */
function parseBody(req: IncomingMessage, text: string): unknown {
  if (text === '') return undefined;
  let body: unknown;
  try {
    body = String(req.headers['content-type'] ?? '').includes('yaml') ? parseYaml(text, { uniqueKeys: false }) : JSON.parse(text);
  } catch {
    throw new ApiError(415, 'UnsupportedMediaType', `the request body (${String(req.headers['content-type'] ?? 'no content-type')}) is not JSON: this server speaks JSON, and YAML for server-side apply`);
  }
  // Duplicates are found in JSON text only: the YAML parser keeps the last of each silently.
  if (body !== null && typeof body === 'object' && /^\s*[{[]/.test(text)) bodyDuplicates.set(body, duplicateFields(text));
  return body;
}

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * A server-side apply over an existing object, with one field manager in mind (helm's): the
 * applied fields replace the current ones; labels, annotations and finalizers (a set) others set
 * are kept; status is the controllers'. Field ownership across managers is not tracked.
 */
function applyOver(current: KubeObject, applied: KubeObject): KubeObject {
  const next = clone(applied);
  const finalizers = [...new Set([...((current.metadata.finalizers as string[] | undefined) ?? []), ...((applied.metadata.finalizers as string[] | undefined) ?? [])])];
  next.metadata = {
    ...next.metadata,
    labels: { ...(current.metadata.labels ?? {}), ...(applied.metadata.labels ?? {}) },
    annotations: { ...(current.metadata.annotations ?? {}), ...(applied.metadata.annotations ?? {}) },
    ...(finalizers.length > 0 ? { finalizers } : {}),
  };
  return next;
}

function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'a json-patch body must be an array of operations');
  const doc = clone(target) as Record<string, unknown>;
  for (const op of ops as { op: string; path: string; value?: unknown }[]) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    let at: Record<string, unknown> = doc;
    for (const p of parts) {
      if (at[p] === undefined && op.op === 'add') at[p] = {};
      at = at[p] as Record<string, unknown>;
      if (at === undefined || at === null) throw new ApiError(422, 'Invalid', `json-patch path ${op.path} does not exist`);
    }
    if (last === undefined) throw new ApiError(422, 'Invalid', 'json-patch of the whole object is not supported');
    if (Array.isArray(at)) {
      // RFC 6902 on arrays: add inserts at an index ("-" appends), remove takes the element out.
      const index = last === '-' ? at.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > at.length - (op.op === 'add' ? 0 : 1)) throw new ApiError(422, 'Invalid', `json-patch path ${op.path}: no element ${last}`);
      if (op.op === 'add') at.splice(index, 0, op.value);
      else if (op.op === 'replace') at[index] = op.value;
      else if (op.op === 'remove') at.splice(index, 1);
      else throw new ApiError(422, 'Invalid', `json-patch op ${op.op} is not supported here (add, replace, remove)`);
    } else if (op.op === 'add' || op.op === 'replace') at[last] = op.value;
    else if (op.op === 'remove') delete at[last];
    else throw new ApiError(422, 'Invalid', `json-patch op ${op.op} is not supported here (add, replace, remove)`);
  }
  return doc;
}

export class KubeApiServer {
  readonly store = new ObjectStore();
  readonly registry = new ResourceRegistry();
  readonly requests: SeenRequest[] = [];
  readonly token: string;
  private readonly workloads: Workloads;
  private readonly watches = new Set<WatchStream>();
  private readonly forwarder: PortForwarder;
  private readonly logs = new Map<string, string>();
  private server: Server | null = null;
  url = '';

  constructor(private readonly options: KubeApiOptions = {}) {
    this.token = options.token ?? randomBytes(12).toString('hex');
    this.workloads = new Workloads(this.store, options.pods);
    this.forwarder = new PortForwarder(options.forwardTarget ?? ((ns, name, port) => {
      const pod = this.store.get('pods', ns, name);
      const ip = (pod?.status as { podIP?: string } | undefined)?.podIP;
      return ip ? { host: ip, port } : null;
    }));
  }

  static async start(options: KubeApiOptions = {}): Promise<KubeApiServer> {
    const s = new KubeApiServer(options);
    await s.listen();
    return s;
  }

  /** Port 0 picks a free one; a given port brings a closed server back at the same address. */
  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else sendError(res, err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message));
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if (!this.authenticated(req)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      if (!this.forwarder.upgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.url = `http://${host}:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  /**
   * A kubeconfig (YAML is a superset of JSON) whose context `test` reaches this server. It is
   * plain HTTP on loopback, which client-node accepts only with insecure-skip-tls-verify.
   */
  kubeconfig(namespace = 'default'): string {
    return JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'test',
      clusters: [{ name: 'test', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'test', user: { token: this.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace } }],
    }, null, 2);
  }

  async writeKubeconfig(path: string, namespace = 'default'): Promise<string> {
    await writeFile(path, this.kubeconfig(namespace));
    return path;
  }

  // --- test controls ---

  /** Creates or replaces an object as given (kind decides the resource); Deployments are reconciled. */
  put(obj: KubeObject): KubeObject {
    const type = this.registry.find(obj.kind, obj.apiVersion) ?? this.registry.ofKind(obj.kind);
    const current = this.store.get(type.key, obj.metadata.namespace, obj.metadata.name);
    const next = clone(obj);
    storedDefaults(type.kind, next, current, this.options.serviceAddress);
    const stored = this.store.write(type.key, next);
    if (type.key === 'deployments') this.workloads.reconcileDeployment(stored.metadata.namespace ?? '', stored.metadata.name);
    if (type.key === 'replicasets') this.workloads.reconcileReplicaSet(stored.metadata.namespace ?? '', stored.metadata.name);
    if (type.key === 'customresourcedefinitions') this.registry.addCrd(stored.spec as CrdSpec);
    return stored;
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(this.registry.ofKind(kind).key, namespace, name);
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.store.list(this.registry.ofKind(kind).key, (o) => namespace === undefined || o.metadata.namespace === namespace);
  }

  /** Every object in the store, of every kind (what a test checks is left after an uninstall). */
  everything(namespace?: string): KubeObject[] {
    const keys = [...new Set(this.registry.all().map((t) => t.key))];
    return keys.flatMap((k) => this.store.list(k, (o) => namespace === undefined || o.metadata.namespace === namespace));
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    this.removeObject(this.registry.ofKind(kind), namespace, name);
  }

  /** A pod with the given labels and address, Ready or not (no owner). */
  addPod(namespace: string, name: string, labels: Record<string, string>, podIP: string, ready = true): KubeObject {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'main', image: 'test' }] }, status: { phase: 'Pending', podIP } };
    podReadyStatus(pod, ready);
    (pod.status as Record<string, unknown>).podIP = podIP;
    return this.put(pod);
  }

  setPodReady(namespace: string, name: string, ready: boolean): void {
    this.workloads.setReady(namespace, name, ready);
  }

  /** Deletes a pod as the API would (graceful with a deletionTimestamp, or at once with 0). */
  deletePod(namespace: string, name: string, gracePeriodSeconds = 30): void {
    this.workloads.deletePod(namespace, name, gracePeriodSeconds);
  }

  /** A pod's status (and spec) changed as the scheduler or kubelet would; undefined when the pod is gone. */
  updatePod(namespace: string, name: string, change: (pod: KubeObject) => void): KubeObject | undefined {
    return this.workloads.updatePod(namespace, name, change);
  }

  setPodLog(namespace: string, name: string, text: string): void {
    this.logs.set(`${namespace}/${name}`, text);
  }

  bookmark(): void {
    for (const w of this.watches) w.bookmark();
  }

  compact(): void {
    this.store.compact();
  }

  expireWatches(): void {
    this.store.compact();
    for (const w of [...this.watches]) w.expire();
  }

  endWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  dropWatches(): void {
    for (const w of [...this.watches]) w.drop();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  isReady(pod: KubeObject): boolean {
    return isReady(pod);
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.forwarder.closeAll();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  // --- request handling ---

  private authenticated(req: IncomingMessage): boolean {
    if (this.options.anonymous && req.headers.authorization === undefined) return true;
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  private authorize(a: AccessAttributes): void {
    const verdict = this.options.authorize?.(a) ?? true;
    if (verdict !== true) {
      const what = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
      throw new ApiError(403, 'Forbidden', `${what} "${a.name}" is forbidden: User "test" cannot ${a.verb} resource "${what}"${a.namespace ? ` in the namespace "${a.namespace}"` : ''}${typeof verdict === 'string' ? `: ${verdict}` : ''}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    if (!this.authenticated(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    if (url.pathname === '/version') return sendJson(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-kube-api-test-server', platform: 'linux/amd64' });
    if (method === 'GET' && this.discovery(res, url.pathname)) return;
    if (url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && method === 'POST') return this.accessReview(req, res);
    const route = parsePath(url.pathname);
    const type = route && this.registry.at(route.prefix, route.resource);
    if (!route || !type) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
    }
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    this.authorize({ verb: verbOf(method, route, watch), group: route.group, resource: route.resource, subresource: route.subresource ?? '', namespace: route.namespace ?? '', name: route.name ?? '' });
    if (route.subresource === 'scale' && (route.resource === 'deployments' || route.resource === 'replicasets')) return this.scale(req, res, method, route);
    if (route.subresource === 'log' && route.resource === 'pods' && method === 'GET') return this.podLog(res, route, url);
    if (route.subresource === 'status' && route.name && type.key !== type.resource && type.subresources.includes('status')) return this.customStatus(req, res, method, type, route);
    if (route.subresource) throw new ApiError(404, 'NotFound', `subresource ${route.subresource} of ${route.resource} is not served by this test server`);
    const ns = type.namespaced ? route.namespace : null;
    const dryRun = url.searchParams.has('dryRun');
    // Only writes take a fieldValidation directive; reads and deletes ignore the parameter.
    const directive = fieldValidationOf(/^(POST|PUT|PATCH)$/.test(method) ? url.searchParams.get('fieldValidation') : null);
    if (directive === null) {
      const options = { POST: 'CreateOptions', PUT: 'UpdateOptions', PATCH: 'PatchOptions' }[method] ?? 'Options';
      throw new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: ${JSON.stringify(url.searchParams.get('fieldValidation'))}: supported values: "", ${FIELD_VALIDATIONS.map((v) => `"${v}"`).join(', ')}`);
    }
    if (!route.name) {
      if (method === 'GET') return this.listOrWatch(res, type, ns, url, watch);
      if (method === 'POST') {
        const body = await readBody(req);
        return this.create(res, type, ns, body as KubeObject | undefined, dryRun, { directive, write: 'create', duplicates: duplicatesIn(body) });
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} on a collection is not supported`);
    }
    const nsOrUndef = ns ?? undefined;
    const current = this.store.get(type.key, nsOrUndef, route.name);
    const contentType = String(req.headers['content-type'] ?? '');
    if (method === 'PATCH' && contentType.includes('apply-patch')) {
      // Server-side apply (helm v4 installs with it): creates, or makes the applied fields so.
      const applied = (await readBody(req)) as KubeObject | undefined;
      if (!applied || typeof applied !== 'object' || !applied.metadata) throw new ApiError(400, 'BadRequest', 'the apply body is not a Kubernetes object');
      if (applied.kind !== type.kind || applied.apiVersion !== type.apiVersion) throw new ApiError(400, 'BadRequest', `the apply body is a ${applied.apiVersion} ${applied.kind}, not a ${type.apiVersion} ${type.kind}`);
      if (applied.metadata.name !== route.name) throw new ApiError(400, 'BadRequest', `the name of the object (${applied.metadata.name}) does not match the name on the URL (${route.name})`);
      const check: FieldCheck = { directive, write: 'apply', duplicates: duplicatesIn(applied) };
      if (!current) return this.create(res, type, ns, applied, dryRun, check);
      return this.update(res, type, current, applyOver(current, applied), dryRun, check);
    }
    if (method === 'GET') {
      if (!current) throw this.notFound(route.resource, route.name);
      return sendJson(res, 200, current);
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (!current) throw this.notFound(route.resource, route.name);
      const body = await readBody(req);
      const next = (method === 'PUT' ? body : contentType.includes('json-patch') ? jsonPatch(current, body) : contentType.includes('strategic') ? strategicMerge(current, body) : mergePatch(current, body)) as KubeObject;
      if (!next || typeof next !== 'object' || !next.metadata) throw new ApiError(400, 'BadRequest', 'the body is not a Kubernetes object');
      if (method === 'PUT' && next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${route.resource} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      return this.update(res, type, current, next, dryRun, { directive, write: method === 'PUT' ? 'update' : 'patch', duplicates: duplicatesIn(body) });
    }
    if (method === 'DELETE') {
      if (!current) throw this.notFound(route.resource, route.name);
      const options = (await readBody(req)) as { gracePeriodSeconds?: number; propagationPolicy?: string } | undefined;
      const grace = Number(url.searchParams.get('gracePeriodSeconds') ?? options?.gracePeriodSeconds ?? 30);
      const policy = url.searchParams.get('propagationPolicy') ?? options?.propagationPolicy ?? 'Background';
      if (!['Background', 'Foreground', 'Orphan'].includes(policy)) throw new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
      if (dryRun) return sendJson(res, 200, current);
      if (route.resource === 'pods') return sendJson(res, 200, this.workloads.deletePod(nsOrUndef ?? '', route.name, grace));
      return sendJson(res, 200, this.removeObject(type, nsOrUndef, route.name, policy as PropagationPolicy));
    }
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  /** The discovery documents; false when the path is not one. */
  private discovery(res: ServerResponse, path: string): boolean {
    const types = this.registry.all();
    const segs = path.split('/').filter(Boolean);
    let doc: Record<string, unknown> | null = null;
    if (path === '/openapi/v2') {
      const body = openApiV2();
      res.writeHead(200, { 'content-type': OPENAPI_V2_PROTOBUF, 'content-length': body.length });
      res.end(body);
      return true;
    }
    if (path === '/api' || path === '/api/') doc = coreVersions(new URL(this.url).host);
    else if (path === '/apis' || path === '/apis/') doc = groupList(types);
    else if (segs[0] === 'api' && segs.length === 2) doc = resourceList(`/api/${segs[1]}`, types);
    else if (segs[0] === 'apis' && segs.length === 2) doc = group(segs[1] ?? '', types);
    else if (segs[0] === 'apis' && segs.length === 3) doc = resourceList(`/apis/${segs[1]}/${segs[2]}`, types);
    else if (path === '/openapi/v3') doc = openApiRoot(types);
    else if (segs[0] === 'openapi' && segs[1] === 'v3') doc = openApiGroupVersion(segs.slice(2).join('/'), types);
    else return false;
    if (!doc) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (GET ${path})`);
    sendJson(res, 200, doc);
    return true;
  }

  /** The API's delete: an object with finalizers is kept, terminating, until they are removed; any other is purged. */
  private removeObject(type: ResourceType, namespace: string | undefined, name: string, policy: PropagationPolicy = 'Background'): KubeObject | undefined {
    if (policy === 'Foreground' && (type.key === 'deployments' || type.key === 'replicasets')) return this.workloads.deleteInForeground(type.key, namespace ?? '', name);
    const current = this.store.get(type.key, namespace, name);
    if (current && mustWait(current)) return markDeleting(this.store, type.key, current);
    return this.purge(type, namespace, name, policy);
  }

  /** Removes an object now, with what it owned, a Namespace's objects, a CRD's custom resources. */
  private purge(type: ResourceType, namespace: string | undefined, name: string, policy: PropagationPolicy = 'Background'): KubeObject | undefined {
    const removed = this.store.remove(type.key, namespace, name);
    if (!removed) return undefined;
    // Then what it owned, as the garbage collector does (the owner is gone first, so nothing recreates its dependents).
    this.workloads.collect(removed, policy);
    if (type.key === 'namespaces') {
      for (const t of new Map(this.registry.all().filter((x) => x.namespaced).map((x) => [x.key, x])).values()) {
        for (const o of this.store.list(t.key, (x) => x.metadata.namespace === name)) {
          if (t.key === 'pods') this.workloads.deletePod(name, o.metadata.name, 0);
          else this.removeObject(t, name, o.metadata.name);
        }
      }
    }
    if (type.key === 'customresourcedefinitions') {
      const spec = removed.spec as CrdSpec;
      const served = spec?.names && this.registry.ofKey(`${spec.names.plural}.${spec.group}`);
      if (served) for (const o of this.store.list(served.key)) this.store.remove(served.key, o.metadata.namespace, o.metadata.name);
      this.registry.removeCrd(spec);
    }
    return removed;
  }

  private notFound(resource: string, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${resource} "${name}" not found`);
  }

  private listOrWatch(res: ServerResponse, type: ResourceType, namespace: string | null, url: URL, watch: boolean): void {
    let labels: ReturnType<typeof parseLabelSelector>;
    let fields: ReturnType<typeof parseFieldSelector>;
    try {
      labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    } catch (err) {
      if (err instanceof SelectorError) throw new ApiError(400, 'BadRequest', err.message);
      throw err;
    }
    const resource = type.key;
    const matches = (o: KubeObject) => labels(o.metadata.labels ?? {}) && fields(o);
    if (watch) {
      const timeout = url.searchParams.get('timeoutSeconds');
      const stream = new WatchStream(this.store, { resource, namespace, matches }, res, {
        resourceVersion: url.searchParams.get('resourceVersion'),
        allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: url.searchParams.get('sendInitialEvents') === 'true',
        timeoutSeconds: timeout === null ? null : Number(timeout),
      }, type, (w) => this.watches.delete(w));
      this.watches.add(stream);
      stream.start();
      return;
    }
    const items = this.store.list(resource, (o) => (namespace === null || o.metadata.namespace === namespace) && matches(o));
    sendJson(res, 200, { kind: `${type.kind}List`, apiVersion: type.apiVersion, metadata: { resourceVersion: String(this.store.revision) }, items });
  }

  private async create(res: ServerResponse, type: ResourceType, namespace: string | null, body: KubeObject | undefined, dryRun: boolean, check: FieldCheck): Promise<void> {
    if (!body || typeof body !== 'object' || !body.metadata) throw new ApiError(400, 'BadRequest', 'the body is not a Kubernetes object (metadata is missing)');
    const meta = body.metadata;
    if (!meta.name && typeof meta.generateName === 'string') meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!meta.name) throw new ApiError(422, 'Invalid', `${type.kind} is invalid: metadata.name: Required value`);
    if (namespace !== null) {
      if (meta.namespace && meta.namespace !== namespace) throw new ApiError(400, 'BadRequest', `the namespace of the object (${meta.namespace}) does not match the namespace on the request (${namespace})`);
      meta.namespace = namespace;
      if ((this.options.requireNamespaces || this.options.validate) && !this.store.get('namespaces', '', namespace)) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`);
    } else {
      delete meta.namespace;
    }
    if (this.store.get(type.key, meta.namespace, meta.name)) throw new ApiError(409, 'AlreadyExists', `${type.resource}${type.group ? `.${type.group}` : ''} "${meta.name}" already exists`);
    const obj = { ...body, apiVersion: type.apiVersion, kind: type.kind };
    if (this.options.validate) await this.admit(res, type, obj, check);
    meta.generation = 1;
    delete meta.resourceVersion;
    sendJson(res, 201, dryRun ? obj : this.put(obj));
  }

  /** PUT, PATCH and apply of an existing object: identity kept, generation bumped when the spec changes. */
  private async update(res: ServerResponse, type: ResourceType, current: KubeObject, next: KubeObject, dryRun: boolean, check: FieldCheck): Promise<void> {
    next.metadata = { ...next.metadata, name: current.metadata.name, namespace: current.metadata.namespace, uid: current.metadata.uid };
    if (next.metadata.namespace === undefined) delete next.metadata.namespace;
    const obj: KubeObject = { ...next, apiVersion: type.apiVersion, kind: type.kind };
    // Status belongs to the status subresource (and the controllers): a write of the object keeps it.
    if (this.options.validate && current.status !== undefined) obj.status = current.status;
    if (this.options.validate) await this.admit(res, type, obj, check);
    if (JSON.stringify(obj.spec) !== JSON.stringify(current.spec)) obj.metadata.generation = (current.metadata.generation ?? 1) + 1;
    if (checkUpdate(`${type.kind}${type.group ? `.${type.group}` : ''} ${JSON.stringify(current.metadata.name)}`, current, obj)) {
      // The last finalizer of a terminating object removed: the object goes, as its delete asked.
      return sendJson(res, 200, dryRun ? obj : this.purge(type, current.metadata.namespace, current.metadata.name));
    }
    sendJson(res, 200, dryRun ? obj : this.put(obj));
  }

  /** Unknown fields dropped (warned of, or refused), then the object checked against its schema. */
  private async admit(res: ServerResponse, type: ResourceType, obj: KubeObject, check: FieldCheck): Promise<void> {
    const warnings = dropUnknownFieldsOf(type, obj, check);
    if (warnings.length > 0) res.setHeader('Warning', warnings);
    await admit(type, obj);
  }

  /** A custom resource's status subresource (its CRD declares one): a write changes the status alone, as a controller writes it. */
  private async customStatus(req: IncomingMessage, res: ServerResponse, method: string, type: ResourceType, route: Route): Promise<void> {
    const current = this.store.get(type.key, route.namespace ?? undefined, route.name ?? '');
    if (!current) throw this.notFound(route.resource, route.name ?? '');
    if (method === 'GET') return sendJson(res, 200, current);
    if (method !== 'PUT' && method !== 'PATCH') throw new ApiError(405, 'MethodNotAllowed', `${method} on status is not supported`);
    const body = await readBody(req);
    const next = (method === 'PUT' ? body : String(req.headers['content-type'] ?? '').includes('json-patch') ? jsonPatch(current, body) : mergePatch(current, body)) as KubeObject;
    if (method === 'PUT' && next?.metadata?.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${route.resource} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const obj: KubeObject = { ...current, status: next?.status };
    if (this.options.validate) await admit(type, obj);
    sendJson(res, 200, this.put(obj));
  }

  /** The scale subresource of a Deployment or a ReplicaSet (autoscaling/v1 Scale). */
  private async scale(req: IncomingMessage, res: ServerResponse, method: string, route: Route): Promise<void> {
    const ns = route.namespace ?? '';
    const deploy = this.store.get(route.resource, ns, route.name ?? '');
    if (!deploy) throw this.notFound(route.resource, route.name ?? '');
    const spec = deploy.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
    if (method === 'PUT' || method === 'PATCH') {
      const body = await readBody(req);
      const current = { spec: { replicas: spec.replicas ?? 1 } };
      const next = (method === 'PUT' ? body : String(req.headers['content-type'] ?? '').includes('json-patch') ? jsonPatch(current, body) : mergePatch(current, body)) as { spec?: { replicas?: unknown } };
      const replicas = next?.spec?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new ApiError(422, 'Invalid', `Scale.autoscaling "${route.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
      if (replicas !== spec.replicas) {
        spec.replicas = replicas;
        deploy.metadata.generation = (deploy.metadata.generation ?? 1) + 1;
        this.put(deploy);
      }
    } else if (method !== 'GET') {
      throw new ApiError(405, 'MethodNotAllowed', `${method} on scale is not supported`);
    }
    const now = this.store.get(route.resource, ns, route.name ?? '') as KubeObject;
    const selector = Object.entries((now.spec as typeof spec).selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    sendJson(res, 200, {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: now.metadata.name, namespace: ns, uid: now.metadata.uid, resourceVersion: now.metadata.resourceVersion, creationTimestamp: now.metadata.creationTimestamp },
      spec: { replicas: (now.spec as typeof spec).replicas ?? 1 },
      status: { replicas: (now.status as { replicas?: number } | undefined)?.replicas ?? 0, selector },
    });
  }

  private podLog(res: ServerResponse, route: Route, url: URL): void {
    const ns = route.namespace ?? '';
    const pod = this.store.get('pods', ns, route.name ?? '');
    if (!pod) throw this.notFound('pods', route.name ?? '');
    // As the kubelet answers for a pod none of whose containers has started.
    if (!this.logs.has(`${ns}/${route.name}`) && (pod.status as { phase?: string } | undefined)?.phase === 'Pending') {
      throw new ApiError(400, 'BadRequest', `container in pod "${route.name}" is waiting to start: the pod is Pending`);
    }
    let lines = (this.logs.get(`${ns}/${route.name}`) ?? '').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const tail = url.searchParams.get('tailLines');
    if (tail !== null) lines = lines.slice(-Number(tail));
    const text = lines.map((l) => `${l}\n`).join('');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async accessReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req)) as { spec?: { resourceAttributes?: Partial<AccessAttributes> } } | undefined;
    const ra = body?.spec?.resourceAttributes;
    if (!ra) throw new ApiError(422, 'Invalid', 'SelfSubjectAccessReview is invalid: spec.resourceAttributes: Required value (this server does not answer nonResourceAttributes)');
    const attrs: AccessAttributes = { verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource ?? '', namespace: ra.namespace ?? '', name: ra.name ?? '' };
    const verdict = this.options.authorize?.(attrs) ?? true;
    sendJson(res, 201, {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
      spec: body?.spec,
      status: verdict === true ? { allowed: true, reason: 'allowed by the test server' } : { allowed: false, ...(typeof verdict === 'string' ? { reason: verdict } : {}) },
    });
  }
}
