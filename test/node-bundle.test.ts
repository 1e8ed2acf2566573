// The bundle of node tools declared hosts run: which dependencies it carries,
// and the version check every node-tool call makes on a declared host.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeConfigs, type ExtraVars } from '../scripts/lib/config/index.js';
import { BUNDLE_STAMP, bundleMismatch, productionModules } from '../scripts/lib/deployment/index.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { tempProject } from './support/temp-project.js';

test('the bundle carries the production dependencies, each once, and no dev dependency', () => {
  const lock = {
    packages: {
      '': {},
      'node_modules/yaml': {},
      'node_modules/@kubernetes/client-node': {},
      'node_modules/@kubernetes/client-node/node_modules/ws': {},
      'node_modules/typescript': { dev: true },
      'node_modules/@types/node': { dev: true },
      'node_modules/linked': { link: true },
    },
  };
  assert.deepEqual(productionModules(lock), ['node_modules/@kubernetes/client-node', 'node_modules/yaml']);
});

test('a node tool refuses to run unless its bundle is the controller\'s, naming make bringup', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bundle-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  assert.match(await bundleMismatch('abc123', 'vllm-dev', root) ?? '', /node vllm-dev: its harness tools .* are an incomplete bundle .*, the controller's are bundle abc123: run make bringup to update the node/);
  await writeFile(join(root, BUNDLE_STAMP), 'fff000\n');
  assert.match(await bundleMismatch('abc123', 'vllm-dev', root) ?? '', /are bundle fff000, the controller's are bundle abc123: run make bringup/);
  await writeFile(join(root, BUNDLE_STAMP), 'abc123\n');
  assert.equal(await bundleMismatch('abc123', 'vllm-dev', root), null);
  // A controller that built no bundle names none: no node runs on that.
  assert.match(await bundleMismatch('', 'vllm-dev', root) ?? '', /node vllm-dev: the controller named no bundle .*: run make bringup/);
});

test('a declared host\'s node lives in CONFIG_VLLM_NODE_DIR, never under the controller\'s checkout', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const { vars, nodes } = await configureProject(p, 'vllm-declared-hosts+ab');
  assert.deepEqual(nodes.map((n) => [n.node.host, n.node.topdir, n.node.workDir, n.node.stateDir]), [
    ['gpu-a', '/var/lib/vllm-harness', '/var/lib/vllm-harness/work/vllm-baseline', '/var/lib/vllm-harness/.deployed'],
    ['gpu-b', '/var/lib/vllm-harness', '/var/lib/vllm-harness/work/vllm-dev', '/var/lib/vllm-harness/.deployed'],
  ]);
  // A declared host's router listens where the controller reaches it.
  assert.deepEqual(nodes.map((n) => n.spec.routerHost), ['0.0.0.0', '0.0.0.0']);
  const local = nodeConfigs({ ...vars, vllm_declared_hosts: '', vllm_node_dir: undefined } as ExtraVars, p.dir);
  assert.deepEqual(local.map((n) => n.workDir), [join(p.dir, 'work', 'vllm-baseline'), join(p.dir, 'work', 'vllm-dev')]);
  assert.throws(() => nodeConfigs({ ...vars, vllm_node_dir: undefined } as ExtraVars, p.dir), /CONFIG_VLLM_NODE_DIR is missing/);
});
