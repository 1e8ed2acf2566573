#!/usr/bin/env node
// .config -> extra_vars.yaml (and its JSON twin extra_vars.json) and the inventory `hosts`, validated first: an
// invalid value stops here, naming its CONFIG_ symbol, and both files stay as
// they were.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { describe, nodeConfigs, parseDotConfig, readKconfigTree, readSchema, renderInventory, toExtraVars, validateExtraVars, type ExtraVars } from './lib/config/index.js';
import { parseCli, runMain } from './lib/cli.js';
import { writeFileAtomic } from './lib/atomic-write.js';
import { jsonTwin } from './lib/stack/load-node.js';

const USAGE = `usage: gen-extra-vars [--config .config] [--extra-vars extra_vars.yaml] [--inventory hosts]

Writes the Ansible variables and inventory of the configuration, after validating it.`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { config: { type: 'string' }, 'extra-vars': { type: 'string' }, inventory: { type: 'string' } });
  const configPath = values.config ?? '.config';
  const topdir = resolve('.');
  const entries = parseDotConfig(await readFile(configPath, 'utf8'));
  const vars = toExtraVars(entries, readKconfigTree('Kconfig'));
  const problems = validateExtraVars(vars, readSchema(), topdir);
  if (problems.length > 0) {
    throw new Error(`${configPath} has ${problems.length} invalid value(s); extra_vars.yaml and hosts left unchanged:\n${problems.map((p) => `  ${describe(p)}`).join('\n')}\nFix them with make menuconfig (or in ${configPath}) and run make again.`);
  }
  const header = '# Generated from .config by make (scripts/gen-extra-vars.ts); do not edit.\n';
  const extraVars = values['extra-vars'] ?? 'extra_vars.yaml';
  await writeFileAtomic(extraVars, header + stringify(vars, { sortMapEntries: true }));
  // The same variables as JSON, for the tools that must start at once (status): no YAML parser to load.
  await writeFileAtomic(jsonTwin(extraVars), JSON.stringify(vars, Object.keys(vars).sort(), 2) + '\n');
  await writeFileAtomic(values.inventory ?? 'hosts', renderInventory(nodeConfigs(vars as unknown as ExtraVars, topdir)));
}

runMain(main);
