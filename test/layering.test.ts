// The floors written down in README.md ("Code layout") hold in the code: no
// import runs up a floor or round a circle, the services never import the
// harness, and product code never imports tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FLOORS, importCycles, layerViolations, readImports } from './support/layering.js';
import { REPO } from './support/temp-project.js';

const imports = readImports(REPO, ['scripts', 'router', 'engine-sim']);

test('the import reader sees the tree (a reader that finds nothing would pass everything)', () => {
  assert.ok(imports.length > 300, `only ${imports.length} imports read`);
  assert.ok(imports.some((i) => i.from === 'scripts/vllm-node.ts' && i.to.startsWith('scripts/lib/targets/')));
});

test('no file imports from a folder above its own, nor from a sibling on its floor', () => {
  assert.deepEqual(layerViolations(imports), []);
});

test('no import runs round a circle', () => {
  assert.deepEqual(importCycles(imports).map((c) => c.join(' -> ')), []);
});

test('every folder of scripts/lib has its floor written down', () => {
  const listed = new Set(FLOORS.flat());
  const folders = new Set(imports.map((i) => i.from).filter((f) => f.startsWith('scripts/lib/')).map((f) => f.split('/').slice(0, 3).join('/')).filter((f) => !f.endsWith('.ts')));
  assert.deepEqual([...folders].filter((f) => !listed.has(f)), []);
});

test('the floors written in README.md are the floors this test holds', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### The floors of scripts/lib'), readme.indexOf('## Troubleshooting'));
  const written = new Map<number, string[]>();
  for (const m of section.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)) {
    written.set(Number(m[1]), [...m[2]!.matchAll(/`([^`]+)`/g)].map((f) => f[1]!));
  }
  const asWritten = (folder: string) => (folder === 'scripts' ? 'scripts/*.ts' : folder === 'scripts/lib' ? 'scripts/lib/*.ts' : `${folder.slice('scripts/lib/'.length)}/`);
  assert.deepEqual(Object.fromEntries([...written].sort(([a], [b]) => a - b)), Object.fromEntries(FLOORS.map((folders, floor) => [floor, folders.map(asWritten)])));
});

test('the check fails on a planted upward import, a sideways one, a service importing the harness and product importing tests', () => {
  const planted = [
    { from: 'scripts/lib/vocabulary/request-sample.ts', to: 'scripts/lib/bench/run-benchmark.ts' },
    { from: 'scripts/lib/results/bench-files.ts', to: 'scripts/lib/report/charts.ts' },
    { from: 'scripts/lib/suites/faults.ts', to: 'scripts/lib/bench/engine-counters.ts' },
    { from: 'router/bench/bench-router.ts', to: 'scripts/lib/quantile.ts' },
    { from: 'scripts/lib/targets/kube/kube-stack.ts', to: 'test/support/child-server.ts' },
  ];
  const found = layerViolations(planted);
  assert.equal(found.length, planted.length, found.join('\n'));
  assert.match(found[0]!, /scripts\/lib\/vocabulary \(floor 1\) may not import scripts\/lib\/bench/);
  assert.match(found[2]!, /share floor/);
  assert.match(found[3]!, /services never import the harness/);
  assert.match(found[4]!, /never imports tests/);
  // Downward and within a folder are allowed.
  assert.deepEqual(layerViolations([
    { from: 'scripts/lib/bench/run-benchmark.ts', to: 'scripts/lib/vocabulary/request-sample.ts' },
    { from: 'scripts/lib/targets/kube/kube-target.ts', to: 'scripts/lib/targets/target.ts' },
    { from: 'scripts/vllm-node.ts', to: 'scripts/lib/targets/index.ts' },
  ]), []);
});

test('the check finds a planted circle', () => {
  const cycles = importCycles([
    { from: 'scripts/lib/config/index.ts', to: 'scripts/lib/config/validate.ts' },
    { from: 'scripts/lib/config/validate.ts', to: 'scripts/lib/config/bench-settings.ts' },
    { from: 'scripts/lib/config/bench-settings.ts', to: 'scripts/lib/config/index.ts' },
  ]);
  assert.deepEqual(cycles, [['scripts/lib/config/bench-settings.ts', 'scripts/lib/config/index.ts', 'scripts/lib/config/validate.ts']]);
});
