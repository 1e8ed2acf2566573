// Which names the project's one image must carry, and the commands that
// build and load it (pure). The names are read from the Helm values the
// deploy would install, so they are exactly what the chart will ask the
// cluster for: routerSpec.repository:tag where this project's router runs,
// servingEngineSpec.modelSpec[].repository:tag where the simulator is the engine.
import type { ExtraVars, NodeConfig } from '../config/index.js';
import { DEFAULT_ROUTER_IMAGES, helmValues, type HelmConfigVars, type Values } from '../helm/values.js';

/** The image definition, relative to the project directory (the build context). */
export const CONTAINERFILE = 'containers/Containerfile';

/** Names used when no Kubernetes configuration asks for any: the Kconfig defaults. */
export const DEFAULT_TAGS = [
  `${DEFAULT_ROUTER_IMAGES.builtin?.repository}:${DEFAULT_ROUTER_IMAGES.builtin?.tag}`,
  'ghcr.io/vllm-stack-harness/engine-sim:0.1.0',
];

export type ContainerTool = 'docker' | 'podman';

export interface ImageName {
  tag: string;
  /** Where the configuration uses it: "vllm-baseline router", "vllm-dev engines". */
  usedBy: string[];
}

function at(values: Values, ...path: (string | number)[]): unknown {
  let v: unknown = values;
  for (const p of path) v = (v as Record<string | number, unknown> | undefined)?.[p];
  return v;
}

/** The names of this project's image in the configuration's Helm values; [] on the local target or when nothing uses it. */
export function configuredImageNames(vars: ExtraVars, nodes: NodeConfig[]): ImageName[] {
  if (vars.vllm_target === 'local') return [];
  const byTag = new Map<string, string[]>();
  const use = (tag: string, who: string) => byTag.set(tag, [...(byTag.get(tag) ?? []), who]);
  for (const node of nodes) {
    const values = helmValues(vars as HelmConfigVars, node, { apiKey: false, hfToken: false });
    if (node.routerImpl === 'builtin' && at(values, 'routerSpec', 'enableRouter') === true) {
      use(`${at(values, 'routerSpec', 'repository')}:${at(values, 'routerSpec', 'tag')}`, `${node.name} router`);
    }
    if (vars.vllm_engine === 'sim') {
      use(`${at(values, 'servingEngineSpec', 'modelSpec', 0, 'repository')}:${at(values, 'servingEngineSpec', 'modelSpec', 0, 'tag')}`, `${node.name} engines`);
    }
  }
  return [...byTag].map(([tag, usedBy]) => ({ tag, usedBy }));
}

export function buildArgv(tool: ContainerTool, tags: string[], contextDir: string): string[] {
  return [tool, 'build', '-f', `${contextDir}/${CONTAINERFILE}`, ...tags.flatMap((t) => ['-t', t]), contextDir];
}

/**
 * How one name gets into minikube: straight from docker's image store, or, from podman,
 * through an archive (minikube image load reads docker's store or a tar file).
 */
export function minikubeLoadSteps(tool: ContainerTool, tag: string, profile: string, archiveDir: string): string[][] {
  if (tool === 'docker') return [['minikube', '-p', profile, 'image', 'load', tag]];
  const archive = `${archiveDir}/${tag.replace(/[^A-Za-z0-9_.-]+/g, '_')}.tar`;
  return [['podman', 'save', '-o', archive, tag], ['minikube', '-p', profile, 'image', 'load', archive]];
}
