// Configurations as users make them: `make defconfig-NAME+FRAG` in a
// throw-away project (real kconfig-conf), read back as the node tools read them.
import { join } from 'node:path';
import { $, which } from 'zx';
import { loadAllNodes, type LoadedConfig } from '../../scripts/lib/stack/load-node.js';
import { REPO, type TempProject } from './temp-project.js';

export async function kconfigMissing(): Promise<string | null> {
  return (await which('kconfig-conf', { nothrow: true })) ? null : 'kconfig-conf is not installed (make deps installs kconfig-frontends-nox)';
}

/** Why `make vllm` cannot run end to end here, or null: the Ansible and Kconfig tools it calls. */
export async function e2eToolsMissing(): Promise<string | null> {
  for (const tool of ['ansible-playbook', 'kconfig-conf']) {
    if (!(await which(tool, { nothrow: true }))) return `${tool} is not installed (make deps installs it)`;
  }
  return null;
}

export async function tool(p: TempProject, name: string, ...args: string[]) {
  return $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist', 'scripts', `${name}.js`)} ${args}`;
}

/** defconfig + fragments, then extra_vars.yaml and hosts; throws with the tools' message on failure. */
export async function configureProject(p: TempProject, spec: string, edit: Record<string, string | number | boolean> = {}): Promise<LoadedConfig> {
  const apply = await tool(p, 'kconfig-apply', 'defconfig', spec);
  if (apply.exitCode !== 0) throw new Error(`defconfig-${spec}: ${apply.stderr}`);
  if (Object.keys(edit).length > 0) {
    await p.setConfig(edit);
    const old = await tool(p, 'kconfig-apply', 'olddefconfig');
    if (old.exitCode !== 0) throw new Error(`defconfig-${spec} edited: ${old.stderr}`);
  }
  const gen = await tool(p, 'gen-extra-vars');
  if (gen.exitCode !== 0) throw new Error(`defconfig-${spec}: ${gen.stderr}`);
  return loadAllNodes(join(p.dir, 'extra_vars.yaml'));
}
