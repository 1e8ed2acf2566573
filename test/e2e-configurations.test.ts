// Configurations as a new user meets them: the README names only those the
// tests cover, and a fresh project says what to do. The documented local
// configurations are each deployed through make by the journeys in
// test/e2e-configurations-*.test.ts (one file per group, one test per
// configuration, so that one failure hides no other).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCUMENTED, DOCUMENTED_LOCAL } from './support/documented-configs.js';
import { DEPLOYED_IN, LOCAL } from './support/local-configurations.js';
import { REPO, tempProject } from './support/temp-project.js';
import { e2eToolsMissing } from './support/configure.js';

test('the README names only documented configurations, and the local ones are each deployed by one journey', async () => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  for (const m of readme.matchAll(/defconfig-(vllm[a-z0-9+-]*)/g)) {
    assert.ok(DOCUMENTED.includes(m[1] as string), `README shows defconfig-${m[1]}, which the tests do not cover: add it to test/support/documented-configs.ts`);
  }
  assert.deepEqual(Object.keys(LOCAL).sort(), [...DOCUMENTED_LOCAL].sort());
  assert.deepEqual(Object.values(DEPLOYED_IN).flat().sort(), [...DOCUMENTED_LOCAL].sort(), 'each deployed by exactly one journey');
  for (const key of Object.keys(DEPLOYED_IN)) assert.ok(existsSync(join(REPO, 'test', `e2e-configurations-${key}.test.ts`)), `test/e2e-configurations-${key}.test.ts deploys ${key}`);
});

test('a fresh project says what to do: no .config, an empty fragment, nothing deployed', async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  t.after(() => p.remove());
  const vllm = await p.make('vllm');
  assert.notEqual(vllm.exitCode, 0);
  assert.match(vllm.stderr, /there is no \.config: run make defconfig-vllm-local/);
  assert.doesNotMatch(vllm.stderr, /No rule to make target/);
  const empty = await p.make('defconfig-vllm-local+');
  assert.notEqual(empty.exitCode, 0);
  assert.match(empty.stderr, /names an empty fragment .*; fragments: ab, ab-lmcache/);
  assert.doesNotMatch(empty.stderr, /EISDIR/);
  const quick = await p.make('vllm-quick-test');
  assert.notEqual(quick.exitCode, 0);
  assert.match(quick.stderr, /nothing is deployed .*: run make vllm first/);
  const down = await p.make('vllm-teardown');
  assert.equal(down.exitCode, 0, down.stderr);
  assert.match(down.stdout, /nothing is deployed/);
  const status = await p.make('vllm-status-simplified');
  assert.equal(status.exitCode, 0, status.stderr);
  assert.match(status.stdout, /no configuration \(no \.config\)/);
  assert.match(status.stdout, /make defconfig-vllm-local/);
  // make help lines up its columns whatever the longest name.
  const columns = (await p.make('help')).stdout.split('\n').map((l) => /^( {2}\S+ +)\S/.exec(l)?.[1]?.length).filter((c) => c !== undefined);
  assert.ok(columns.length > 20);
  assert.equal(new Set(columns).size, 1, 'one description column');
  // make test keeps the build: it never starts with a clean rebuild.
  assert.doesNotMatch((await p.make('-n', 'test')).stdout, /rm -rf dist|npm run build/);
});
