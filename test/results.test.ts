import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { nodeRunDir, recordStep } from '../scripts/lib/results/node-run.js';
import { assertRunId, newRunId } from '../scripts/lib/results/run-id.js';
import { collectNode, latestRun, readRun, startRun } from '../scripts/lib/results/run-store.js';
import { formatNodeResults } from '../scripts/lib/report/format-results.js';
import { nodeVerdict, runVerdict } from '../scripts/lib/results/verdict.js';

test('run ids sort by time and are validated', () => {
  const a = newRunId(new Date('2026-11-23T06:01:02Z'), 'ab12');
  assert.equal(a, '20261123-060102-ab12');
  assert.ok(newRunId(new Date('2026-11-23T06:01:03Z'), '0000') > a);
  assert.throws(() => assertRunId('../etc'), /not a run id/);
});

test('verdicts: one failed step fails the run, a silent node leaves it incomplete', () => {
  const ok = { step: 'deploy', passed: true, startedAt: '', finishedAt: '' };
  const bad = { ...ok, step: 'smoke', passed: false, error: 'boom' };
  assert.deepEqual(nodeVerdict([ok]), { verdict: 'pass', steps: { deploy: 'pass' } });
  assert.equal(nodeVerdict([ok, bad]).verdict, 'fail');
  assert.equal(nodeVerdict([]).verdict, 'incomplete');
  assert.equal(runVerdict(['a', 'b'], { a: nodeVerdict([ok]) }), 'incomplete');
  assert.equal(runVerdict(['a', 'b'], { a: nodeVerdict([ok]), b: nodeVerdict([bad]) }), 'fail');
  assert.equal(runVerdict(['a'], { a: nodeVerdict([ok]) }), 'pass');
});

test('a run collects node tarballs into whole folders and keeps run.json and latest current', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'runs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  const run = await startRun(results, { configHash: 'abc', gitRevision: 'deadbeef', target: 'local', nodes: ['vllm-baseline', 'vllm-dev'] });
  assert.equal(run.verdict, 'incomplete');
  assert.equal(await readlink(join(results, 'latest')), run.run_id);

  for (const [node, passed] of [['vllm-baseline', true], ['vllm-dev', false]] as const) {
    const runDir = nodeRunDir(join(dir, 'work', node), run.run_id);
    await recordStep(runDir, 'deploy', async () => undefined);
    await recordStep(runDir, 'smoke', async () => {
      if (!passed) throw new Error('no answer');
    }).catch(() => undefined);
    await writeFile(join(runDir, 'smoke.json'), '{}');
    await $({ quiet: true })`tar -czf ${join(dir, `${node}.tgz`)} -C ${runDir} .`;
  }
  await collectNode(results, run.run_id, 'vllm-baseline', join(dir, 'vllm-baseline.tgz'));
  assert.equal((await readRun(results, run.run_id)).verdict, 'incomplete');
  const final = await collectNode(results, run.run_id, 'vllm-dev', join(dir, 'vllm-dev.tgz'));
  assert.equal(final.verdict, 'fail');
  assert.deepEqual(final.nodes['vllm-dev']?.steps, { deploy: 'pass', smoke: 'fail' });
  const step = JSON.parse(await readFile(join(results, run.run_id, 'vllm-dev', 'steps', 'smoke.json'), 'utf8'));
  assert.equal(step.error, 'no answer');
  assert.equal((await latestRun(results))?.run_id, run.run_id);
});

test('two runs started in the same second never share a folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'runs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = new Date();
  const info = { configHash: 'x', gitRevision: 'y', target: 'local', nodes: ['n'] };
  const [a, b] = await Promise.all([startRun(dir, info, now), startRun(dir, info, now)]);
  assert.notEqual(a.run_id, b.run_id);
  await mkdir(join(dir, 'not-a-run'));
  assert.ok([a.run_id, b.run_id].includes((await latestRun(dir))?.run_id ?? ''));
});

test('make vllm-results: a space after each mark, "1 case" in the singular', () => {
  const text = formatNodeResults({
    node: 'vllm-baseline', run_id: '20261207-010203-abcd', steps: [], smoke: null, bench: [],
    suites: [{ suite: 'api', status: 'passed', duration_s: 1.5, cases: [{ name: 'models', status: 'passed', summary: 'facebook/opt-125m' }] }],
  });
  assert.match(text, /suite api: ✅ passed \(1 case, 1\.5 s\)/);
  assert.match(text, /^ {4}✅ models: facebook\/opt-125m$/m);
});
