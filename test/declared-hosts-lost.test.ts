// A declared host lost mid-run: make vllm on two SSH test hosts, and once the
// dev host's smoke test has recorded its step (the suites and benchmark come
// next) its link goes down and its sshd stops. Ansible drops that node before
// its results step; the run must fail naming it and why, record it as failed
// in run.json with where its logs are, keep baseline's results whole, and
// leave no half-written file behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eToolsMissing } from './support/configure.js';
import { declaredProject, makeSshHosts, sshHostsMissing, type SshHost } from './support/ssh-hosts.js';

/** One quick suite and a short benchmark: enough for the cut to land mid-run. */
const QUICK = {
  VLLM_TEST_API: true, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false,
  VLLM_BENCHMARK_DURATION: 4, VLLM_BENCHMARK_CONCURRENT_USERS: 4, VLLM_BENCHMARK_ROUNDS: 2,
};

/** Resolves once some run of the node has recorded `step` on its host (looks at the host's files, which appear during the run), false if make ended first. */
async function stepRecorded(runsDir: string, step: string, done: Promise<unknown>): Promise<boolean> {
  let finished = false;
  void done.finally(() => { finished = true; });
  while (!finished) {
    const runs = await readdir(runsDir).catch(() => [] as string[]);
    if (runs.some((r) => existsSync(join(runsDir, r, 'steps', `${step}.json`)))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Every file under dir whose name marks it as half-written (staging, temp, a tarball not yet unpacked). */
async function halfWritten(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (/^\.|\.tmp$|\.incoming$|\.tar\.gz$/.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('a declared host lost mid-run fails its node with the reason, keeps the other node\'s results, leaves nothing half-written', { timeout: 600_000 }, async (t) => {
  const missing = (await sshHostsMissing()) ?? (await e2eToolsMissing());
  if (missing) return t.skip(missing);
  const hosts = await makeSshHosts(2, 'vu');
  t.after(() => hosts.remove());
  const { p } = await declaredProject(hosts, 'vllm-declared-hosts+ab', QUICK);
  t.after(() => p.remove());
  const b = hosts.hosts[1] as SshHost;
  const up = await p.make('bringup');
  assert.equal(up.exitCode, 0, up.stdout + up.stderr);

  const t0 = performance.now();
  const run = p.make('vllm');
  const cutAfterSmoke = await stepRecorded(join(b.privateDir, 'vllm-harness', 'work', 'vllm-dev', 'runs'), 'smoke', run);
  assert.ok(cutAfterSmoke, 'the dev host recorded its smoke step before make vllm ended');
  await hosts.cut(b);
  const out = await run;
  t.diagnostic(`wall time: make vllm with the dev host cut ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const text = out.stdout + out.stderr;

  assert.notEqual(out.exitCode, 0, text);
  const address = b.address.replace(/\./g, '\\.');
  assert.match(text, new RegExp(`vllm-dev: FAILED, unreachable: .*${address}.*; its results step did not run`), text);
  assert.match(text, /vllm-dev: ❌ FAILED, no suite result came home: unreachable/, 'the suites summary names it');
  assert.match(text, /❌ failed: localhost \(Each lost node, why, and its last log lines\), vllm-dev \(unreachable\)/, 'only the lost node is unreachable');
  assert.match(text, /vllm-dev: last log lines:\n\s+no log line: the host cannot be reached; its logs are on the host in \S+\/work\/vllm-dev\/logs/, text);

  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const runDir = join(p.dir, 'results', runId);
  const record = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  assert.equal(record.verdict, 'fail', JSON.stringify(record));
  assert.equal(record.nodes['vllm-dev'].verdict, 'fail', JSON.stringify(record));
  assert.match(record.nodes['vllm-dev'].lost.reason, new RegExp(`^unreachable: .*${address}`), JSON.stringify(record));
  assert.match(record.nodes['vllm-dev'].lost.logs, /\/work\/vllm-dev\/logs$/);
  assert.equal(record.nodes['vllm-baseline'].verdict, 'pass', JSON.stringify(record));
  assert.deepEqual(Object.keys(record.nodes['vllm-baseline'].steps).sort(), ['benchmark', 'deploy', 'metrics', 'smoke', 'test']);
  for (const f of ['config.yaml', 'system.json', 'deploy.json', 'smoke.json', 'metrics.json', 'suites/api.json', 'bench/multi_round_qa.json', 'logs/router.log']) {
    assert.ok(existsSync(join(runDir, 'vllm-baseline', f)), `results/${runId}/vllm-baseline/${f} came home`);
  }
  assert.ok(!existsSync(join(runDir, 'vllm-dev')), 'nothing of the lost node is half-collected');
  assert.deepEqual(await halfWritten(join(p.dir, 'results')), [], 'no staging, temp or tarball file is left');
});
