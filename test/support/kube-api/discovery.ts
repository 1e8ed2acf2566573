// API discovery (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api),
// the unaggregated documents: /api lists the core versions, /apis the groups,
// and each group version its resources with their verbs. client-go (helm,
// kubectl) and client-node read these to map a kind to its URL; a kind not
// listed here is one the cluster does not serve.
import type { ResourceType } from './resources.js';

const OBJECT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  log: ['get'],
  portforward: ['create', 'get'],
};

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupOf(name: string, types: ResourceType[]): Record<string, unknown> {
  const versions = [...new Set(types.filter((t) => t.group === name).map((t) => t.version))].sort().reverse();
  const gv = (v: string) => ({ groupVersion: `${name}/${v}`, version: v });
  return { name, versions: versions.map(gv), preferredVersion: gv(versions[0] ?? 'v1') };
}

export function groupList(types: ResourceType[]): Record<string, unknown> {
  const names = [...new Set(types.filter((t) => t.group !== '').map((t) => t.group))].sort();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map((n) => groupOf(n, types)) };
}

/** /apis/GROUP, or null when no resource of that group is served. */
export function group(name: string, types: ResourceType[]): Record<string, unknown> | null {
  if (!types.some((t) => t.group === name && name !== '')) return null;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(name, types) };
}

/** /api/v1 or /apis/GROUP/VERSION, or null when nothing is served there. */
export function resourceList(prefix: string, types: ResourceType[]): Record<string, unknown> | null {
  const mine = types.filter((t) => t.prefix === prefix);
  if (mine.length === 0) return null;
  const resources = mine.flatMap((t) => [
    { name: t.resource, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: OBJECT_VERBS, ...(t.shortNames ? { shortNames: t.shortNames } : {}) },
    ...t.subresources.map((s) => ({
      name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced,
      ...(s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : s === 'status' ? { kind: t.kind } : { kind: s === 'log' ? 'Pod' : 'PodPortForwardOptions' }),
      verbs: SUBRESOURCE_VERBS[s] ?? ['get'],
    })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: mine[0]?.apiVersion, resources };
}

// --- OpenAPI v3, only as far as clients read it before writing ---
// kubectl's and helm's validator asks /openapi/v3/<group version> whether each
// kind's PATCH takes the fieldValidation query parameter; when it does, they
// leave validation to the server (fieldValidation=Strict), which is where this
// server validates. No schemas are published.

const gvPath = (t: ResourceType) => t.prefix.slice(1);

export function openApiRoot(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const t of types) paths[gvPath(t)] = { serverRelativeURL: `/openapi/v3/${gvPath(t)}?hash=${types.length}` };
  return { paths };
}

/** /openapi/v3/api/v1 or /openapi/v3/apis/GROUP/VERSION, or null when nothing is served there. */
export function openApiGroupVersion(path: string, types: ResourceType[]): Record<string, unknown> | null {
  const mine = types.filter((t) => gvPath(t) === path);
  if (mine.length === 0) return null;
  const paths: Record<string, unknown> = {};
  for (const t of mine) {
    const item = `${t.prefix}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
    paths[item] = {
      patch: {
        operationId: `patch${t.kind}`,
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
        parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } })),
        responses: { 200: { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.33.0' }, paths };
}

/**
 * /openapi/v2 as client-go reads it (protobuf, gnostic's openapi_v2.Document): the empty
 * document, no paths. client-go falls back to it for a kind /openapi/v3 does not list (an
 * unknown one), finds no schema, and leaves the kind to the REST mapping, which fails with
 * "no matches for kind", as against a real cluster.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
export function openApiV2(): Buffer {
  return Buffer.alloc(0);
}
