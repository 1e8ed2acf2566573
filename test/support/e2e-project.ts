// The set-up every local end-to-end test shares: a throw-away project
// configured through make on ports of its own, skipped with the reason where
// make vllm cannot run, and left with nothing running once the test is over.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { $ } from 'zx';
import { STATE_DIR } from '../../scripts/lib/config/node-config.js';
import { e2eToolsMissing } from './configure.js';
import { configureOnPorts, freePortBase, processesUnder, REPO, tempProject, type TempProject } from './temp-project.js';
import { until } from './loopback.js';

export interface E2eProject {
  p: TempProject;
  /** The router's port; engines and a second node above it, Prometheus at base + 90. */
  base: number;
}

export interface E2eOptions {
  /** Ports reserved above the base: 100 for one node, 200 with A/B. */
  ports?: number;
  /** Symbols set after the defconfig (e.g. steps the test is not about switched off). */
  extra?: Record<string, string | number | boolean>;
}

/**
 * `make defconfig-SPEC` in a new project, or null when the test was skipped.
 * Afterwards every deployed node is cleaned up (stopped, its work dir removed),
 * any process still under the project is killed (a test that failed halfway
 * leaves none behind), and the project is removed.
 */
export async function e2eProject(t: TestContext, spec: string, o: E2eOptions = {}): Promise<E2eProject | null> {
  const missing = await e2eToolsMissing();
  if (missing) {
    t.skip(missing);
    return null;
  }
  const p = await tempProject();
  t.after(async () => {
    // What make vllm-cleanup does, by the node tool on each deployed node without Ansible's start-up
    // (tests of make vllm-cleanup itself run it). After make mrproper there is nothing left to stop.
    const records = existsSync(join(p.dir, STATE_DIR)) ? (await readdir(join(p.dir, STATE_DIR))).filter((f) => f.endsWith('.json')) : [];
    for (const record of records) {
      await $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist', 'scripts', 'vllm-node.js')} cleanup --node ${basename(record, '.json')}`;
    }
    for (const pid of await processesUnder(p.dir)) process.kill(pid, 'SIGKILL');
    await p.remove();
  });
  const base = await freePortBase(o.ports ?? 100);
  await configureOnPorts(p, spec, base, o.extra ?? {});
  return { p, base };
}

/** Until the router at `url` routes with `logic`: it reads a changed config file on its own time. */
export function routerRoutes(url: string, logic: string): Promise<void> {
  return until(`the router at ${url} to route ${logic}`, async () => {
    const view = await (await fetch(`${url}/engines`)).json() as { routing_logic: string };
    return view.routing_logic === logic;
  });
}
