// The checks of a release as rendered, against the cluster it goes to, before
// helm install: every kind served (or its CRD named), every pod schedulable
// on the nodes' room, this project's images where the cluster finds them. Run by bring-up (vllm-node check) and again by deploy.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig, V1PodSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ReleaseNames } from '../../helm/names.js';
import { kubeClient } from './access.js';
import { fitProblems, nodeRoom, podDemands, podRequests, type RenderedObject } from './pod-requests.js';
import { projectImageFindings } from './project-images.js';
import { kindsOfCrds, SUB_CHART_GROUPS, unservedKinds } from './served-kinds.js';

export interface RenderedRelease {
  names: ReleaseNames;
  manifestsFile: string;
  chartDir: string;
}

/** This project's images the releases use, and the target (minikube must hold them; a registry serves an existing cluster). */
export interface ProjectImages {
  images: { tag: string; usedBy: string[] }[];
  target: string;
}

export function parseManifests(text: string): RenderedObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as RenderedObject | null).filter((o): o is RenderedObject => o !== null && typeof o === 'object');
}

/** The CRDs in the chart's crds/ folder, which helm installs before the templates. */
async function chartCrds(chartDir: string): Promise<RenderedObject[]> {
  const dir = join(chartDir, 'crds');
  const files = await readdir(dir).catch(() => [] as string[]);
  const docs = await Promise.all(files.filter((f) => /\.ya?ml$/.test(f)).map(async (f) => parseManifests(await readFile(join(dir, f), 'utf8'))));
  return docs.flat().filter((o) => o.kind === 'CustomResourceDefinition');
}

/** The groups the chart's sub-charts (charts/<name> or charts/<name>-<version>.tgz) bring CRDs for. */
async function subChartGroups(chartDir: string): Promise<Set<string>> {
  const entries = await readdir(join(chartDir, 'charts')).catch(() => [] as string[]);
  return new Set(Object.entries(SUB_CHART_GROUPS).filter(([sub]) => entries.some((e) => e === sub || e.startsWith(`${sub}-`))).map(([, group]) => group));
}

const forbidden = (err: unknown) => (err as { code?: number }).code === 403;

/** Lines of what was checked and the problems found (each naming what to change); throws only when the cluster cannot be read at all. */
export async function checkRendered(kc: KubeConfig, releases: RenderedRelease[], sizeHint: string, project: ProjectImages = { images: [], target: 'existing' }): Promise<{ lines: string[]; problems: string[] }> {
  const k8s = await kubeClient();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const lines: string[] = [];
  const problems: string[] = [];
  const rendered = await Promise.all(releases.map(async (r) => ({ ...r, objects: parseManifests(await readFile(r.manifestsFile, 'utf8')) })));
  const objects = rendered.flatMap((r) => r.objects);

  const clusterCrds = await ext.listCustomResourceDefinition().then((l) => l.items, (err: unknown) => {
    if (forbidden(err)) return null;
    throw err;
  });
  const chart = (await Promise.all([...new Set(releases.map((r) => r.chartDir))].map(chartCrds))).flat();
  if (clusterCrds === null) lines.push('⚠️  may not list CustomResourceDefinitions: whether the cluster serves every rendered kind is left to helm install');
  else {
    const provided = new Set((await Promise.all([...new Set(releases.map((r) => r.chartDir))].map(subChartGroups))).flatMap((s) => [...s]));
    const missing = unservedKinds(objects, kindsOfCrds([...clusterCrds, ...(chart as Parameters<typeof kindsOfCrds>[0])]), provided);
    if (missing.length === 0) lines.push(`✅ the cluster serves every kind the release renders (${new Set(objects.map((o) => o.kind)).size} kinds)`);
    problems.push(...missing);
  }

  const nodes = await core.listNode().then((l) => l.items, (err: unknown) => {
    if (forbidden(err)) return null;
    throw err;
  });
  if (nodes === null) {
    lines.push('⚠️  may not list the cluster\'s nodes: whether the pods fit is left to the scheduler');
    return { lines, problems };
  }
  // With no node at all, that is the problem to name; which images it lacks would only repeat it.
  const images = nodes.length === 0 ? { lines: [], problems: [] } : projectImageFindings(project.images, nodes.map((n) => (n.status?.images ?? []).flatMap((i) => i.names ?? [])), project.target);
  lines.push(...images.lines);
  problems.push(...images.problems);
  const schedulable = nodes.filter((n) => !n.spec?.unschedulable);
  const ours = new Set(releases.map((r) => r.names.release));
  // Pods already placed use room, except the releases' own, which the deploy replaces.
  const placed = await core.listPodForAllNamespaces().then((l) => l.items, (err: unknown) => {
    if (forbidden(err)) return null;
    throw err;
  });
  const running = (placed ?? []).filter((p) => p.spec?.nodeName && !['Succeeded', 'Failed'].includes(p.status?.phase ?? '')
    && !ours.has(p.metadata?.labels?.release ?? '') && !ours.has(p.metadata?.labels?.['app.kubernetes.io/instance'] ?? ''));
  const room = nodeRoom(
    schedulable.map((n) => ({ name: n.metadata?.name ?? '', allocatable: n.status?.allocatable ?? {} })),
    running.map((p) => ({ node: p.spec?.nodeName ?? '', requests: podRequests(p.spec as V1PodSpec as Parameters<typeof podRequests>[0]) })),
  );
  const demands = rendered.flatMap((r) => podDemands(r.objects, r.names));
  const fit = fitProblems(demands, room, sizeHint);
  const total = (k: string) => demands.reduce((a, d) => a + d.replicas * (d.requests[k] ?? 0), 0);
  if (fit.length === 0) {
    lines.push(`✅ the release's ${demands.reduce((a, d) => a + d.replicas, 0)} pods fit the nodes (${(total('cpu') / 1000).toFixed(1)} CPU, ${(total('memory') / 2 ** 30).toFixed(1)}Gi requested; ${schedulable.length} schedulable node(s)${placed === null ? ', other pods\' requests unknown: may not list pods in every namespace' : ''})`);
  }
  problems.push(...fit);
  return { lines, problems };
}
