// One node across runs, as a single-node configuration compares: its latest
// benchmark against the previous run of the same configuration, or a message
// saying exactly what to type.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from '../scripts/lib/atomic-write.js';
import { resolveSides } from '../scripts/lib/results/compare-runs.js';
import { startRun } from '../scripts/lib/results/run-store.js';
import { syntheticResult } from './support/synthetic-run.js';
import { syntheticSamples } from './support/synthetic-samples.js';

const NODE = 'vllm-baseline';

async function run(dir: string, minute: number, configHash: string, bench: boolean): Promise<string> {
  const r = await startRun(dir, { configHash, gitRevision: 'x', target: 'local', nodes: [NODE] }, new Date(Date.UTC(2026, 11, 1, 12, minute)));
  if (bench) {
    const samples = syntheticSamples({ seed: minute, users: 2, seconds: 2 });
    await writeFileAtomic(join(dir, r.run_id, NODE, 'bench', 'multi_round_qa.samples.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    await writeJsonAtomic(join(dir, r.run_id, NODE, 'bench', 'multi_round_qa.json'), syntheticResult(NODE, r.run_id, samples));
  }
  return r.run_id;
}

test('one node: make vllm-compare compares the latest benchmark with the previous run of the same configuration', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const one = [NODE];
  await assert.rejects(resolveSides(dir, '', '', one), /no run .* has a benchmark of vllm-baseline yet: run make vllm-benchmark twice/);
  const other = await run(dir, 1, 'other-config', true);
  const first = await run(dir, 2, 'cfg', true);
  await assert.rejects(resolveSides(dir, '', '', one), new RegExp(`run ${first} is the only benchmark of vllm-baseline with this configuration: run make vllm-benchmark again.*make vllm-compare BASE=${other}`));
  const second = await run(dir, 3, 'cfg', true);
  await run(dir, 4, 'cfg', false); // make vllm-test: a run without a benchmark is not "the latest" to compare
  assert.deepEqual(await resolveSides(dir, '', '', one), { base: { runId: first, node: NODE }, dev: { runId: second, node: NODE } });
  assert.deepEqual(await resolveSides(dir, other, '', one), { base: { runId: other, node: NODE }, dev: { runId: second, node: NODE } }, 'BASE alone: against the latest');
  assert.deepEqual(await resolveSides(dir, '', second, one), { base: { runId: first, node: NODE }, dev: { runId: second, node: NODE } }, 'DEV alone: the run of its configuration before it');
});

test('A/B: the default stays the latest run\'s baseline against its dev', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const id = await run(dir, 1, 'cfg', true);
  assert.deepEqual(await resolveSides(dir, '', '', ['vllm-baseline', 'vllm-dev']), { base: { runId: id, node: 'vllm-baseline' }, dev: { runId: id, node: 'vllm-dev' } });
});
