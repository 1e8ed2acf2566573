// The default configuration when its node is busy: a port taken by another
// program, then two commands at once on the node.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eProject } from './support/e2e-project.js';
import { ANSIBLE_NOISE, DEPLOYED_IN, deployedAsConfigured, runs, SPINE_ONLY } from './support/local-configurations.js';
import { until } from './support/loopback.js';

test('vllm-local: a port taken is refused before anything starts; of two commands at once the second is refused, naming the first', { timeout: 600_000 }, async (t) => {
  const [spec] = DEPLOYED_IN.busy;
  const project = await e2eProject(t, spec, { extra: SPINE_ONLY });
  if (!project) return;
  const { p, base } = project;

  // A port taken by another program: bring-up says so plainly, nothing starts, no run is recorded.
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(base, '127.0.0.1', resolve));
  const refused = await p.make('vllm');
  await new Promise((resolve) => squatter.close(resolve));
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stdout + refused.stderr, new RegExp(`❌ vllm-baseline failed:\\n\\s+vllm-baseline: error: node vllm-baseline is not ready:\\n.*port\\(s\\) ${base} \\(router\\) already in use`));
  assert.doesNotMatch(refused.stdout + refused.stderr, ANSIBLE_NOISE);
  assert.deepEqual(await runs(p), []);

  // Two make vllm at once: the second is refused before it starts anything, naming the first.
  assert.equal((await p.make('bringup')).exitCode, 0);
  const first = p.make('vllm');
  let firstDone = 0;
  void first.then(() => { firstDone = performance.now(); });
  const lock = join(p.dir, '.deployed', 'vllm-baseline.lock');
  // Whatever fails here, the first make vllm ends before the project is cleaned up (else it starts engines after).
  try {
    // Its deployment record too, written as its deploy starts: from then on teardown has a node to stop, and finds it busy.
    await until('the first make vllm to hold the node and deploy on it', () => existsSync(lock) && existsSync(join(p.dir, '.deployed', 'vllm-baseline.json')), 120_000);
    const holder = JSON.parse(await readFile(lock, 'utf8')) as { pid: number; command: string };
    const [second, teardown] = await Promise.all([p.make('vllm'), p.make('vllm-teardown')]);
    const refusedAt = performance.now();
    for (const other of [second, teardown]) {
      assert.notEqual(other.exitCode, 0);
      assert.match(other.stderr, new RegExp(`node vllm-baseline is busy: "make vllm" \\(pid ${holder.pid}\\)`));
    }
    assert.ok(firstDone === 0 || firstDone > refusedAt, 'the refused commands ran while the first held the node');
  } finally {
    await first;
  }
  const out = await first;
  assert.equal(out.exitCode, 0, out.stdout + out.stderr);
  await deployedAsConfigured(p, spec);
  assert.equal((await runs(p)).length, 1, 'refused commands recorded no run');
});
