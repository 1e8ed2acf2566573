// A node lost mid-run (unreachable, its results never collected) is recorded
// as failed with Ansible's message and its last log lines; a collected node is
// never overwritten by it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { formatLost, lostNode, parseProbes } from '../scripts/lib/results/lost-node.js';
import { nodeRunDir, recordStep } from '../scripts/lib/results/node-run.js';
import { collectNode, markLost, readRun, startRun } from '../scripts/lib/results/run-store.js';
import { latestPerNode, nodeResults } from '../scripts/lib/results/latest-per-node.js';
import { formatNodeResults } from '../scripts/lib/report/format-results.js';

const LOGS = '/srv/vllm-harness/work/vllm-dev/logs';
const UNREACHABLE = { item: 'vllm-dev', unreachable: true, msg: 'Failed to connect to the host via ssh: ssh: connect to host 10.0.0.2 port 22: Network is unreachable' };

test('an unreachable node: Ansible\'s message, and where its logs are since none can be read', () => {
  const lost = lostNode(UNREACHABLE, LOGS);
  assert.equal(lost.reason, `unreachable: ${UNREACHABLE.msg}; its results step did not run`);
  assert.deepEqual(lost.last_lines, [`no log line: the host cannot be reached; its logs are on the host in ${LOGS}`]);
  assert.deepEqual(formatLost('vllm-dev', lost).slice(0, 2), [`vllm-dev: FAILED, ${lost.reason}`, 'vllm-dev: last log lines:']);
});

test('a lost node that answers again: its last log lines, or why there are none', () => {
  const back = lostNode({ item: 'vllm-dev', rc: 0, stdout_lines: ['==> router.log', 'listening'] }, LOGS);
  assert.match(back.reason, /^lost mid-run: .*the host answers again now$/);
  assert.deepEqual(back.last_lines, ['==> router.log', 'listening']);
  const none = lostNode({ item: 'vllm-dev', rc: 0, stdout_lines: [] }, LOGS);
  assert.deepEqual(none.last_lines, [`no log line could be read (none written); the logs are on the host in ${LOGS}`]);
});

test('--probes must be the probe\'s loop results, each naming its node', () => {
  assert.deepEqual(parseProbes(JSON.stringify([UNREACHABLE])), [UNREACHABLE]);
  assert.throws(() => parseProbes('{}'), /--probes must be a JSON list/);
  assert.throws(() => parseProbes('[{"unreachable": true}]'), /a result without the node's name as its item/);
});

test('run.json records the lost node as failed, fails the run, and leaves a collected node alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lost-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  const run = await startRun(results, { configHash: 'abc', gitRevision: 'deadbeef', target: 'local', nodes: ['vllm-baseline', 'vllm-dev'] });
  const runDir = nodeRunDir(join(dir, 'work', 'vllm-baseline'), run.run_id);
  await recordStep(runDir, 'deploy', async () => undefined);
  await $({ quiet: true })`tar -czf ${join(dir, 'b.tgz')} -C ${runDir} .`;
  await collectNode(results, run.run_id, 'vllm-baseline', join(dir, 'b.tgz'));

  const lost = lostNode(UNREACHABLE, LOGS);
  assert.equal(await markLost(results, run.run_id, 'vllm-baseline', lost), false, 'a collected node is not lost');
  assert.equal(await markLost(results, run.run_id, 'vllm-dev', lost), true);
  const record = await readRun(results, run.run_id);
  assert.equal(record.verdict, 'fail');
  assert.deepEqual(record.nodes['vllm-dev'], { verdict: 'fail', steps: {}, lost });
  assert.deepEqual(record.nodes['vllm-baseline'], { verdict: 'pass', steps: { deploy: 'pass' } });
  assert.equal(await markLost(results, run.run_id, 'vllm-dev', lost), false, 'recorded once');
  await assert.rejects(markLost(results, run.run_id, 'vllm-other', lost), /run \S+ has no node "vllm-other" \(its nodes: vllm-baseline, vllm-dev\)/);
});

test('make vllm-results shows a node the newest run lost as lost, not its results of an earlier run', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lost-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  const info = { configHash: 'abc', gitRevision: 'deadbeef', target: 'local', nodes: ['vllm-baseline', 'vllm-dev'] };
  const collect = async (runId: string, node: string) => {
    const runDir = nodeRunDir(join(dir, 'work', node), runId);
    await recordStep(runDir, 'deploy', async () => undefined);
    await $({ quiet: true })`tar -czf ${join(dir, `${node}.tgz`)} -C ${runDir} .`;
    await collectNode(results, runId, node, join(dir, `${node}.tgz`));
  };
  const earlier = await startRun(results, info, new Date('2026-12-01T10:00:00Z'));
  for (const node of info.nodes) await collect(earlier.run_id, node);
  const newest = await startRun(results, info, new Date('2026-12-01T11:00:00Z'));
  await collect(newest.run_id, 'vllm-baseline');
  await markLost(results, newest.run_id, 'vllm-dev', lostNode(UNREACHABLE, LOGS));

  const latest = await latestPerNode(results);
  assert.deepEqual(Object.fromEntries(latest), { 'vllm-baseline': newest.run_id, 'vllm-dev': newest.run_id });
  const dev = await nodeResults(results, 'vllm-dev', newest.run_id);
  assert.match(dev.lost ?? '', /unreachable/);
  assert.deepEqual(dev.steps, []);
  assert.match(formatNodeResults(dev), new RegExp(`^vllm-dev: run ${newest.run_id}\\n  ❌ LOST: .*unreachable`));
  assert.equal((await nodeResults(results, 'vllm-baseline', newest.run_id)).lost, undefined);
});
