// Whether the cluster serves every kind a release renders. Kinds of
// Kubernetes' own API groups are always there; any other kind needs its
// CustomResourceDefinition installed first (the chart's crds/ folder, a
// sub-chart, or an operator), or helm install fails half-way with "no matches
// for kind". Pure; rendered-check.ts reads the cluster's CRDs.
import type { RenderedObject } from './pod-requests.js';

/** API groups every cluster serves (the built-in ones the chart and its sub-charts use). */
const BUILT_IN_GROUPS = new Set(['', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'storage.k8s.io',
  'apiextensions.k8s.io', 'admissionregistration.k8s.io', 'coordination.k8s.io', 'scheduling.k8s.io', 'discovery.k8s.io', 'node.k8s.io', 'certificates.k8s.io']);

/** Who provides the CRDs of a group this harness's configurations can render, and how to get it. */
const PROVIDERS: Record<string, string> = {
  'monitoring.coreos.com': 'the Prometheus operator\'s CRDs, which kube-prometheus-stack installs: the chart used carries no such sub-chart, so install it in the cluster first '
    + '(helm install kps kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --namespace monitoring --create-namespace); or turn CONFIG_VLLM_OBSERVABILITY_ENABLED off',
  'keda.sh': 'KEDA (helm install keda keda --repo https://kedacore.github.io/charts --namespace keda --create-namespace); or turn CONFIG_VLLM_AUTOSCALING_ENABLED off',
  'gateway.networking.k8s.io': 'the Gateway API CRDs (https://gateway-api.sigs.k8s.io/guides/#installing-gateway-api)',
};

/** The API groups whose CRDs a sub-chart installs with the release (helm installs sub-charts' crds/ first). */
export const SUB_CHART_GROUPS: Record<string, string> = { 'kube-prometheus-stack': 'monitoring.coreos.com' };

/** A kind a CRD serves: group, version, kind. */
export interface ServedKind {
  group: string;
  version: string;
  kind: string;
}

/** The served kinds of CRD objects (from the cluster, or the chart's crds/ folder, which helm installs first). */
export function kindsOfCrds(crds: { spec?: { group?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] } }[]): ServedKind[] {
  return crds.flatMap((c) => (c.spec?.versions ?? []).filter((v) => v.served !== false)
    .map((v) => ({ group: c.spec?.group ?? '', version: v.name ?? '', kind: c.spec?.names?.kind ?? '' })));
}

/** The rendered objects of kinds nobody serves, each with what would provide it. [] when all are served. */
export function unservedKinds(objects: RenderedObject[], served: ServedKind[], providedGroups: ReadonlySet<string> = new Set()): string[] {
  const missing = new Map<string, { names: string[]; group: string }>();
  for (const o of objects) {
    if (!o.apiVersion || !o.kind) continue;
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') as [string, string] : ['', o.apiVersion];
    if (BUILT_IN_GROUPS.has(group) || providedGroups.has(group)) continue;
    if (served.some((s) => s.group === group && s.version === version && s.kind === o.kind)) continue;
    const key = `${o.kind} (${o.apiVersion})`;
    const entry = missing.get(key) ?? { names: [], group };
    entry.names.push(o.metadata?.name ?? '?');
    missing.set(key, entry);
  }
  return [...missing].map(([key, { names, group }]) => `the cluster does not serve ${key}, which the release renders (${names.join(', ')}): helm install would fail with "no matches for kind". It comes with ${PROVIDERS[group] ?? `a CustomResourceDefinition of group ${group}: install it in the cluster first`}`);
}
