// The node-side tools a declared host runs: a bundle built on the controller
// (compiled tools and services, the files they read, the production
// dependencies), shipped and unpacked by make bringup. Its content hash is its
// version: every node-tool call from the controller names the hash it built
// (--bundle), and a node holding another bundle refuses to run, naming the
// command that updates it, so that no node silently runs other code.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where make builds the bundle in the project (mk/vllm.mk); its sha256 is in BUNDLE_PATH.sha256. */
export const BUNDLE_PATH = '.build-bundle/vllm-node.tar.gz';

/** Written by bring-up into the unpacked bundle, last, once every file is in place. */
export const BUNDLE_STAMP = '.version';

/** The root of the tools this code runs from: the unpacked bundle on a declared host, the project here. */
export const TOOLS_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What the node tools read at run time besides node_modules (dist/test and controller-only files stay home). */
export const BUNDLE_FILES = ['package.json', 'dist/scripts', 'dist/router', 'dist/engine-sim', 'schemas', 'observability'];

interface LockEntry {
  dev?: boolean;
  link?: boolean;
}

/**
 * The production dependencies, from package-lock.json's own dev flags: each
 * top-level node_modules entry not marked dev (its nested node_modules, its
 * own dependencies, come with it).
 */
export function productionModules(lock: { packages?: Record<string, LockEntry> }): string[] {
  return Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(path) && !entry.dev && !entry.link)
    .map(([path]) => path)
    .sort();
}

/** Why this node must not run (its bundle is not the controller's), or null when it is. */
export async function bundleMismatch(expected: string, node: string, root = TOOLS_ROOT): Promise<string | null> {
  if (expected === '') return `node ${node}: the controller named no bundle of node tools (${BUNDLE_PATH} is not built there): run make bringup, which builds and ships it`;
  const found = (await readFile(join(root, BUNDLE_STAMP), 'utf8').catch(() => '')).trim();
  if (found === expected) return null;
  const have = found === '' ? `an incomplete bundle (no ${BUNDLE_STAMP})` : `bundle ${found.slice(0, 12)}`;
  return `node ${node}: its harness tools (${root}) are ${have}, the controller's are bundle ${expected.slice(0, 12)}: run make bringup to update the node`;
}
