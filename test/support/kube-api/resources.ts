// The resources the Kubernetes API test server serves, by group, version and
// plural name: the built-in kinds the harness, helm and the production-stack
// chart use, plus whatever CustomResourceDefinitions add while it runs. The
// discovery documents (/api, /apis, /apis/G/V) are read from here, so what a
// client discovers is exactly what the server answers; any other kind is 404.
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Subresources served beside the object (status, scale, log, portforward). */
  subresources: string[];
  shortNames?: string[];
  /** URL prefix of its group/version: /api/v1 or /apis/apps/v1. */
  prefix: string;
  apiVersion: string;
  /** Its table in the object store: the plural for built-in kinds, plural.group for custom resources (all versions share it). */
  key: string;
  /** A CustomResourceDefinition's openAPIV3Schema, for its custom resources. */
  schema?: Record<string, unknown>;
}

type Builtin = [group: string, version: string, resource: string, kind: string, namespaced: boolean, subresources?: string[], shortNames?: string[]];

const BUILTIN: Builtin[] = [
  ['', 'v1', 'pods', 'Pod', true, ['status', 'log', 'portforward'], ['po']],
  ['', 'v1', 'services', 'Service', true, ['status'], ['svc']],
  ['', 'v1', 'endpoints', 'Endpoints', true, [], ['ep']],
  ['', 'v1', 'secrets', 'Secret', true],
  ['', 'v1', 'configmaps', 'ConfigMap', true, [], ['cm']],
  ['', 'v1', 'events', 'Event', true, [], ['ev']],
  ['', 'v1', 'namespaces', 'Namespace', false, ['status'], ['ns']],
  ['', 'v1', 'nodes', 'Node', false, ['status'], ['no']],
  ['', 'v1', 'serviceaccounts', 'ServiceAccount', true, [], ['sa']],
  ['', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, ['status'], ['pvc']],
  ['apps', 'v1', 'deployments', 'Deployment', true, ['status', 'scale'], ['deploy']],
  ['apps', 'v1', 'replicasets', 'ReplicaSet', true, ['status', 'scale'], ['rs']],
  ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['status'], ['pdb']],
  ['autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['status'], ['hpa']],
  ['networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, ['status'], ['ing']],
  ['coordination.k8s.io', 'v1', 'leases', 'Lease', true],
  ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, ['status'], ['crd']],
];

function resourceType(group: string, version: string, resource: string, kind: string, namespaced: boolean, subresources: string[] = [], shortNames?: string[], key = resource): ResourceType {
  return {
    group, version, resource, kind, namespaced, subresources, key, ...(shortNames ? { shortNames } : {}),
    prefix: group ? `/apis/${group}/${version}` : `/api/${version}`,
    apiVersion: group ? `${group}/${version}` : version,
  };
}

export class UnknownKindError extends Error {}

export interface CrdSpec {
  group: string;
  names: { plural: string; kind: string; shortNames?: string[] };
  scope: 'Namespaced' | 'Cluster';
  versions: { name: string; served: boolean; storage?: boolean; schema?: { openAPIV3Schema?: Record<string, unknown> }; subresources?: { status?: unknown; scale?: unknown } }[];
}

export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  constructor() {
    for (const [g, v, r, k, n, sub, short] of BUILTIN) this.add(resourceType(g, v, r, k, n, sub, short));
  }

  private add(t: ResourceType): void {
    this.types.set(`${t.prefix}/${t.resource}`, t);
  }

  /** The type served at a group-version prefix and plural name, or undefined (404). */
  at(prefix: string, resource: string): ResourceType | undefined {
    return this.types.get(`${prefix}/${resource}`);
  }

  /** The type of a store table (any served version). */
  ofKey(key: string): ResourceType | undefined {
    return [...this.types.values()].find((t) => t.key === key);
  }

  find(kind: string, apiVersion: string): ResourceType | undefined {
    return [...this.types.values()].find((t) => t.kind === kind && t.apiVersion === apiVersion);
  }

  /** By kind, and by apiVersion when given; an unknown kind is an error naming what is served. */
  ofKind(kind: string, apiVersion?: string): ResourceType {
    const found = [...this.types.values()].find((t) => t.kind === kind && (apiVersion === undefined || t.apiVersion === apiVersion));
    if (!found) throw new UnknownKindError(`the Kubernetes API test server does not serve kind ${kind}${apiVersion ? ` in ${apiVersion}` : ''}; it serves ${[...new Set([...this.types.values()].map((t) => t.kind))].join(', ')}`);
    return found;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Serves a CRD's custom resources (every served version), as the API server does once the CRD is established. */
  addCrd(spec: CrdSpec): void {
    // Unit tests put partial CRDs (a name only); only a complete one is served.
    if (!spec?.group || !spec.names?.plural || !Array.isArray(spec.versions)) return;
    for (const v of spec.versions.filter((x) => x.served)) {
      const t = resourceType(spec.group, v.name, spec.names.plural, spec.names.kind, spec.scope === 'Namespaced',
        [...(v.subresources?.status ? ['status'] : []), ...(v.subresources?.scale ? ['scale'] : [])], spec.names.shortNames, `${spec.names.plural}.${spec.group}`);
      if (v.schema?.openAPIV3Schema) t.schema = v.schema.openAPIV3Schema;
      this.add(t);
    }
  }

  removeCrd(spec: CrdSpec): void {
    if (!spec?.group || !spec.names?.plural || !Array.isArray(spec.versions)) return;
    for (const v of spec.versions) this.types.delete(`/apis/${spec.group}/${v.name}/${spec.names.plural}`);
  }
}
