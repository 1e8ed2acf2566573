// The configuration library: .config -> validated extra vars -> nodes and
// inventory. Tools under scripts/ are thin wrappers around these.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ExtraVars } from './extra-vars.js';
import { describe, validateExtraVars } from './validate.js';

export { parseDotConfig, formatValue, type ConfigEntry, type ConfigValue } from './dotconfig.js';
export { readKconfigTree, type KconfigSymbol } from './kconfig-tree.js';
export { toExtraVars, varName, symbolName, type ExtraVars } from './extra-vars.js';
export { buildSchema } from './schema.js';
export { validateExtraVars, describe, type ConfigProblem } from './validate.js';
export { nodeConfigs, NODE_PORT_STRIDE, STATE_DIR, type NodeConfig } from './node-config.js';
export { renderInventory, renderNodesInventory } from './inventory.js';
export { lostSettings, describeLost, type LostSetting } from './kconfig-verify.js';
export * from './choices.js';
export { loraPlan, parseLoraAdapters, adaptersOnEngine, adapterEngineCount } from './lora.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../../../schemas/extra-vars.schema.json', import.meta.url));

export function readSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
}

/** Reads and validates extra_vars.yaml; throws one message listing every problem. */
export function loadExtraVars(path: string, topdir?: string): ExtraVars {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${path} does not exist: run make defconfig-vllm-local (or another defconfig) first`);
    throw err;
  }
  const vars = parse(text) as Record<string, unknown>;
  const problems = validateExtraVars(vars, readSchema(), topdir ?? fileURLToPath(new URL('.', `file://${path}`)));
  if (problems.length > 0) throw new Error(`${path} is not valid:\n${problems.map((p) => `  ${describe(p)}`).join('\n')}\nFix .config (make menuconfig) and run make again.`);
  return vars as unknown as ExtraVars;
}
