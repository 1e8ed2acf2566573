// One node's configuration, as the node-side and controller tools need it:
// the validated extra vars, the node's settings and its stack spec. The
// project directory is where extra_vars.yaml lives (relative work and results
// dirs are resolved against it), not where the compiled tools happen to be.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import type { ExtraVars } from '../config/extra-vars.js';
import { nodeConfigs, type NodeConfig } from '../config/node-config.js';
import type { NodePlan } from '../vocabulary/node-plan.js';
import { readSecrets } from './secrets.js';
import { nodePlan } from '../config/node-plan.js';

export interface LoadedNode {
  vars: ExtraVars;
  node: NodeConfig;
  spec: NodePlan;
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

/** extra_vars.json beside extra_vars.yaml: written with it by gen-extra-vars. */
export function jsonTwin(extraVarsPath: string): string {
  return extraVarsPath.replace(/\.ya?ml$/, '') + '.json';
}

/**
 * Without validation: for status and the steps that only read where things
 * are (make validated the file when it wrote it). From the JSON twin when it is
 * as new as the YAML: parsing JSON needs no parser to be loaded.
 */
async function readExtraVars(path: string): Promise<ExtraVars> {
  try {
    const [yamlStat, jsonStat] = await Promise.all([stat(path), stat(jsonTwin(path)).catch(() => null)]);
    if (jsonStat && jsonStat.mtimeMs >= yamlStat.mtimeMs) return JSON.parse(await readFile(jsonTwin(path), 'utf8')) as ExtraVars;
    const { parse } = await import('yaml');
    return parse(await readFile(path, 'utf8')) as ExtraVars;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${path} does not exist: run make defconfig-vllm-local (or another defconfig) first`);
    throw err;
  }
}

export async function loadAllNodes(extraVarsPath = DEFAULT_EXTRA_VARS, opts: { validate?: boolean } = {}): Promise<LoadedConfig> {
  const path = resolve(extraVarsPath);
  const topdir = dirname(path);
  // The validator (ajv) is loaded only when used: compiling the schema costs a tenth of a second.
  const vars = opts.validate === false ? await readExtraVars(path) : (await import('../config/index.js')).loadExtraVars(path);
  const secrets = await readSecrets(vars);
  const nodes = nodeConfigs(vars, topdir).map((node: NodeConfig) => ({ vars, node, spec: nodePlan(vars, node, secrets), apiKey: secrets.apiKey, hfToken: secrets.hfToken }));
  return { vars, topdir, nodes };
}

export async function loadNode(name: string, extraVarsPath?: string, opts: { validate?: boolean } = {}): Promise<LoadedNode> {
  const { nodes } = await loadAllNodes(extraVarsPath, opts);
  const found = nodes.find((n) => n.node.name === name);
  if (!found) throw new Error(`no node "${name}" in this configuration; its nodes are: ${nodes.map((n) => n.node.name).join(', ')}`);
  return found;
}
