// vllm-node's report line, which Ansible's changed_when reads: a command says
// whether it changed the node, truly (a second check, teardown with nothing
// deployed, cleanup with nothing left: unchanged), and status --json stays JSON.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { configureProject, kconfigMissing } from './support/configure.js';
import { freePortBase, REPO, tempProject } from './support/temp-project.js';

test('vllm-node reports {"changed":…} as its last line, true only when it changed the node', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const base = await freePortBase(100);
  const { nodes } = await configureProject(p, 'vllm-local', { VLLM_API_PORT: base, VLLM_PROMETHEUS_PORT: base + 90 });
  const workDir = nodes[0]?.spec.workDir ?? '';
  const node = async (...args: string[]) => {
    const out = await $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist/scripts/vllm-node.js')} ${args} --node vllm-baseline`;
    assert.equal(out.exitCode, 0, `${args.join(' ')}: ${out.stdout}${out.stderr}`);
    return out.stdout.trimEnd().split('\n');
  };
  const report = async (...args: string[]) => JSON.parse((await node(...args)).at(-1) ?? '') as { changed: boolean };

  assert.equal(existsSync(workDir), false);
  assert.deepEqual(await report('check'), { changed: true }, 'check made the work dir');
  assert.deepEqual(await report('check'), { changed: false }, 'a second check changes nothing');
  assert.deepEqual(await report('teardown'), { changed: false }, 'teardown with nothing deployed');
  assert.deepEqual(await report('cleanup'), { changed: true }, 'cleanup removed the work dir');
  assert.equal(existsSync(workDir), false);
  assert.deepEqual(await report('cleanup'), { changed: false }, 'cleanup with nothing left');
  assert.equal(JSON.parse((await node('status', '--json')).join('\n')).node, 'vllm-baseline', 'status --json is JSON alone, with no report line');
});
