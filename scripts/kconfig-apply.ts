#!/usr/bin/env node
// make defconfig-NAME[+FRAG...] and make olddefconfig: let kconfig-conf
// resolve the requested settings into .config, then refuse the result when
// Kconfig silently changed or dropped any of them. .config is replaced only
// when every requested setting survived.
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
// Not the config index: it loads the schema validator, which this tool never uses.
import { formatValue, parseDotConfig, type ConfigEntry } from './lib/config/dotconfig.js';
import { varName } from './lib/config/extra-vars.js';
import { readKconfigTree } from './lib/config/kconfig-tree.js';
import { describeLost, lostSettings, type LostSetting } from './lib/config/kconfig-verify.js';
import { parseCli, runMain } from './lib/cli.js';
import { execOk } from './lib/exec.js';
import { writeFileAtomic } from './lib/atomic-write.js';

const USAGE = `usage: kconfig-apply defconfig NAME[+FRAGMENT...]
       kconfig-apply olddefconfig

defconfig      .config from defconfigs/NAME plus fragments from defconfigs/configs/, in order
olddefconfig   .config brought up to date (new options get defaults), as kconfig-conf --olddefconfig`;

async function requestedFromDefconfig(spec: string): Promise<{ text: string; entries: Map<string, ConfigEntry> }> {
  const [base, ...fragments] = spec.split('+');
  if (!base) throw new Error(`"${spec}" names no defconfig; make help lists the defconfigs`);
  if (fragments.some((f) => f === '')) {
    const known = (await readdir(join('defconfigs', 'configs'))).sort().join(', ');
    throw new Error(`defconfig-${spec} names an empty fragment (a "+" with nothing after it); fragments: ${known}`);
  }
  const files = [{ kind: 'defconfig', file: join('defconfigs', base) }, ...fragments.map((f) => ({ kind: 'fragment', file: join('defconfigs', 'configs', f) }))];
  const merged = new Map<string, ConfigEntry>();
  for (const { kind, file } of files) {
    if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`no ${kind} ${file}; make help lists the defconfigs and fragments`);
    for (const entry of parseDotConfig(await readFile(file, 'utf8')).values()) {
      merged.delete(entry.symbol);
      merged.set(entry.symbol, entry);
    }
  }
  const text = [...merged.values()].map((e) => formatValue(e.symbol, e.value)).join('\n') + '\n';
  return { text, entries: merged };
}

/** A choice member set to y later wins over its siblings set earlier: drop the losers from what must survive. */
function withoutOverriddenChoices(entries: Map<string, ConfigEntry>, tree: ReturnType<typeof readKconfigTree>): Map<string, ConfigEntry> {
  const winner = new Map<string, string>();
  for (const e of entries.values()) {
    const choice = tree.get(e.symbol)?.choice;
    if (choice && e.value === true) winner.set(choice, e.symbol);
  }
  return new Map([...entries].filter(([name, e]) => {
    const choice = tree.get(name)?.choice;
    return !choice || winner.get(choice) === undefined || winner.get(choice) === name || e.value !== true;
  }));
}

/**
 * After a hand edit, what Kconfig drops as a consequence is not a lost request: derived
 * strings follow their choice, and an option whose menu the edit closed (its value the same
 * as in the last accepted extra_vars.yaml) simply no longer applies.
 */
async function consequencesOfEdit(lost: LostSetting[], requested: Map<string, ConfigEntry>, tree: ReturnType<typeof readKconfigTree>): Promise<Set<LostSetting>> {
  const accepted = existsSync('extra_vars.yaml') ? (parse(await readFile('extra_vars.yaml', 'utf8')) as Record<string, unknown> | null) ?? {} : {};
  return new Set(lost.filter((l) => {
    const sym = tree.get(l.symbol);
    const untouched = accepted[varName(l.symbol)] === requested.get(l.symbol)?.value;
    return sym !== undefined && untouched && (!sym.prompt || l.result === null);
  }));
}

async function main(): Promise<void> {
  const { positionals } = parseCli(USAGE, {});
  const [command, spec] = positionals;
  const tree = readKconfigTree('Kconfig');
  const tmp = `.config.kconfig-apply.${process.pid}`;
  let requested: Map<string, ConfigEntry>;
  try {
    if (command === 'defconfig' && spec) {
      const merged = await requestedFromDefconfig(spec);
      requested = withoutOverriddenChoices(merged.entries, tree);
      await writeFile(`${tmp}.in`, merged.text);
      await execOk('kconfig-conf', [`--defconfig=${tmp}.in`, 'Kconfig'], { env: { ...process.env, KCONFIG_CONFIG: tmp } });
    } else if (command === 'olddefconfig') {
      if (!existsSync('.config')) throw new Error('there is no .config: run make defconfig-vllm-local (or another defconfig) first');
      const text = await readFile('.config', 'utf8');
      requested = parseDotConfig(text);
      await writeFile(tmp, text);
      await execOk('kconfig-conf', ['--olddefconfig', 'Kconfig'], { env: { ...process.env, KCONFIG_CONFIG: tmp } });
    } else {
      throw new Error(`expected "defconfig NAME" or "olddefconfig"\n\n${USAGE}`);
    }
    const result = parseDotConfig(await readFile(tmp, 'utf8'));
    let lost = lostSettings(requested, result, tree);
    if (command === 'olddefconfig') {
      const consequences = await consequencesOfEdit(lost, requested, tree);
      for (const l of consequences) if (l.result === null && tree.get(l.symbol)?.prompt) process.stderr.write(`note: ${l.requested} no longer applies: ${l.reason}\n`);
      lost = lost.filter((l) => !consequences.has(l));
    }
    if (lost.length > 0) {
      const where = command === 'defconfig' ? `defconfig-${spec}` : '.config';
      throw new Error(`${where}: ${lost.length} requested setting(s) would not take effect, .config left unchanged:\n${lost.map((l) => `  ${describeLost(l)}`).join('\n')}`);
    }
    await writeFileAtomic('.config', await readFile(tmp, 'utf8'));
  } finally {
    await rm(tmp, { force: true });
    await rm(`${tmp}.in`, { force: true });
    await rm(`${tmp}.old`, { force: true });
  }
}

runMain(main);
