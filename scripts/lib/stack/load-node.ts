// One node's configuration, as the node-side and controller tools need it:
// the validated extra vars, the node's settings and its stack spec. The
// project directory is where extra_vars.yaml lives (relative work and results
// dirs are resolved against it), not where the compiled tools happen to be.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadExtraVars, nodeConfigs, type ExtraVars, type NodeConfig } from '../config/index.js';
import type { LocalStackSpec } from './local-stack-spec.js';
import { readSecrets } from './secrets.js';
import { localStackSpec } from './spec-from-config.js';

export interface LoadedNode {
  vars: ExtraVars;
  node: NodeConfig;
  spec: LocalStackSpec;
  apiKey: string | undefined;
  hfToken: string | undefined;
}

export interface LoadedConfig {
  vars: ExtraVars;
  topdir: string;
  nodes: LoadedNode[];
}

/** extra_vars.yaml of the project in the current directory (make runs tools from there). */
export const DEFAULT_EXTRA_VARS = 'extra_vars.yaml';

/** VLLM_BENCHMARK_RESULTS_DIR: relative paths are relative to the project directory. */
export function resultsDir(config: LoadedConfig): string {
  const configured = config.vars.vllm_benchmark_results_dir;
  return isAbsolute(configured) ? configured : join(config.topdir, configured);
}

export async function loadAllNodes(extraVarsPath = DEFAULT_EXTRA_VARS): Promise<LoadedConfig> {
  const path = resolve(extraVarsPath);
  const topdir = dirname(path);
  const vars = loadExtraVars(path);
  const secrets = await readSecrets(vars);
  const nodes = nodeConfigs(vars, topdir).map((node: NodeConfig) => ({ vars, node, spec: localStackSpec(vars, node, secrets), apiKey: secrets.apiKey, hfToken: secrets.hfToken }));
  return { vars, topdir, nodes };
}

export async function loadNode(name: string, extraVarsPath?: string): Promise<LoadedNode> {
  const { nodes } = await loadAllNodes(extraVarsPath);
  const found = nodes.find((n) => n.node.name === name);
  if (!found) throw new Error(`no node "${name}" in this configuration; its nodes are: ${nodes.map((n) => n.node.name).join(', ')}`);
  return found;
}
