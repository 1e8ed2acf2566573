// Declared hosts end to end, as a user with two machines runs it: make
// defconfig-vllm-declared-hosts+ab pointed at two SSH test hosts (network
// namespaces running sshd), make bringup provisions both over SSH (twice: the
// second changes nothing), make vllm deploys, tests and benchmarks on each,
// results come home, make vllm-compare gives a verdict, status and monitor
// reach the hosts over their veths, a node whose bundle is not the
// controller's refuses to run, and teardown and cleanup leave nothing. The hosts
// share this machine's filesystem, so the test proves nothing leans on it:
// the node dir is not the controller's checkout (nor visible here), and every
// process a host runs is a program bring-up shipped or installed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eToolsMissing } from './support/configure.js';
import { declaredProject, makeSshHosts, sshHostsMissing, type SshHost, type SshHosts } from './support/ssh-hosts.js';

/** A short journey: one quick suite and a few seconds of benchmark prove the steps run over SSH. */
const QUICK = {
  VLLM_TEST_API: true, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false,
  VLLM_BENCHMARK_DURATION: 4, VLLM_BENCHMARK_CONCURRENT_USERS: 4, VLLM_BENCHMARK_ROUNDS: 2,
};

/** Each node's line of the recap the vllm callback prints: `name: ok=N changed=N ...`. */
function changed(output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of output.matchAll(/^\s+(vllm-\w+): ok=\d+ changed=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}

/** What a host runs (but sshd): programs from the bundle bring-up shipped, or Prometheus, each in its node's work dir. */
async function assertRunsOnlyShipped(hosts: SshHosts, host: SshHost, nodeDir: string, node: string): Promise<void> {
  const procs = await hosts.nodeProcesses(host);
  assert.ok(procs.length >= 3, `${node} runs its router and engines: ${JSON.stringify(procs)}`);
  for (const proc of procs) {
    const what = `${node} pid ${proc.pid} (${proc.argv.join(' ')})`;
    assert.ok(proc.cwd.startsWith(join(nodeDir, 'work', node)), `${what} runs in its work dir, not in ${proc.cwd}`);
    if (proc.exe === '/usr/bin/prometheus') continue;
    assert.equal(proc.exe, '/usr/bin/node', `${what} is node or prometheus`);
    assert.ok(proc.argv[1]?.startsWith(join(nodeDir, 'bundle', 'dist')), `${what} runs a script of the shipped bundle`);
  }
}

test('declared hosts over SSH: bring-up provisions, make vllm runs on both, results come home, teardown and cleanup', { timeout: 900_000 }, async (t) => {
  const missing = (await sshHostsMissing()) ?? (await e2eToolsMissing());
  if (missing) return t.skip(missing);
  const hosts = await makeSshHosts(2);
  t.after(() => hosts.remove());
  const { p, nodeDir } = await declaredProject(hosts, 'vllm-declared-hosts+ab', QUICK);
  t.after(() => p.remove());
  const [a, b] = hosts.hosts as [SshHost, SshHost];
  assert.ok(!nodeDir.startsWith(p.dir), 'the node dir is not in the controller checkout');

  const t0 = performance.now();
  const first = await p.make('bringup');
  const firstS = (performance.now() - t0) / 1000;
  assert.equal(first.exitCode, 0, first.stdout + first.stderr);
  assert.ok((changed(first.stdout)['vllm-baseline'] ?? 0) > 0 && (changed(first.stdout)['vllm-dev'] ?? 0) > 0, `the first bring-up provisions both:\n${first.stdout}`);
  // The node dir is the host's own: nothing of it shows on the controller.
  assert.ok(!existsSync(nodeDir), 'the controller does not see the hosts\' node dir');
  assert.ok(existsSync(join(a.privateDir, 'vllm-harness', 'bundle', 'dist', 'scripts', 'vllm-node.js')), 'the bundle is on host a');
  const t1 = performance.now();
  const second = await p.make('bringup');
  const secondS = (performance.now() - t1) / 1000;
  assert.equal(second.exitCode, 0, second.stdout + second.stderr);
  assert.deepEqual(changed(second.stdout), { 'vllm-baseline': 0, 'vllm-dev': 0 }, `a second bring-up changes nothing:\n${second.stdout}`);

  const t2 = performance.now();
  const run = await p.make('vllm');
  const vllmS = (performance.now() - t2) / 1000;
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  t.diagnostic(`wall time: make bringup ${firstS.toFixed(1)} s (first), ${secondS.toFixed(1)} s (second); make vllm ${vllmS.toFixed(1)} s`);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const record = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8'));
  assert.equal(record.verdict, 'pass', JSON.stringify(record));
  for (const node of ['vllm-baseline', 'vllm-dev']) {
    assert.deepEqual(Object.keys(record.nodes[node].steps).sort(), ['benchmark', 'deploy', 'metrics', 'smoke', 'test'], node);
    for (const f of ['config.yaml', 'system.json', 'deploy.json', 'smoke.json', 'metrics.json', 'suites/api.json', 'bench/multi_round_qa.json', 'logs/router.log', 'logs/engine-0.log']) {
      assert.ok(existsSync(join(p.dir, 'results', runId, node, f)), `results/${runId}/${node}/${f} came home`);
    }
  }
  // The controller keeps a copy of each host's deployment record; the hosts keep theirs in their node dir.
  assert.ok(existsSync(join(p.dir, '.deployed', 'vllm-dev.json')));
  assert.ok(existsSync(join(b.privateDir, 'vllm-harness', '.deployed', 'vllm-dev.json')));
  await assertRunsOnlyShipped(hosts, a, nodeDir, 'vllm-baseline');
  await assertRunsOnlyShipped(hosts, b, nodeDir, 'vllm-dev');

  const compare = await p.make('vllm-compare');
  assert.match(compare.stdout, /verdict: (no-change|improvement|regression)/, compare.stdout + compare.stderr);
  const status = await p.make('vllm-status');
  assert.equal(status.exitCode, 0, status.stdout + status.stderr);
  assert.match(status.stdout, new RegExp(`http://${b.address.replace(/\./g, '\\.')}:8500`), status.stdout);
  const monitor = await p.make('vllm-monitor');
  assert.equal(monitor.exitCode, 0, monitor.stdout + monitor.stderr);
  assert.match(monitor.stdout, new RegExp(`vllm-dev\\s+prometheus\\s+http://${b.address.replace(/\./g, '\\.')}:8491\\s+ready`), monitor.stdout);

  // A host whose tools are not the controller's bundle refuses to run, naming the fix. (Bring-up
  // re-ships a bundle whose stamp differs, as it shipped the first: that path is the one above.)
  const stamp = join(b.privateDir, 'vllm-harness', 'bundle', '.version');
  const shipped = await readFile(stamp, 'utf8');
  await writeFile(stamp, 'an-older-bundle\n');
  const stale = await p.make('vllm-quick-test');
  assert.notEqual(stale.exitCode, 0, 'a node with another bundle refuses to run');
  assert.match(stale.stdout + stale.stderr, /node vllm-dev: its harness tools .* are bundle an-older-bun.*, the controller's are bundle [0-9a-f]{12}: run make bringup to update the node/);
  await writeFile(stamp, shipped);

  const down = await p.make('vllm-teardown');
  assert.equal(down.exitCode, 0, down.stdout + down.stderr);
  for (const h of [a, b]) assert.deepEqual(await hosts.nodeProcesses(h), [], `nothing runs on ${h.netns} after teardown`);
  assert.ok(!existsSync(join(p.dir, '.deployed', 'vllm-dev.json')), 'the controller\'s copy of the record is gone');
  const clean = await p.make('vllm-cleanup');
  assert.equal(clean.exitCode, 0, clean.stdout + clean.stderr);
  for (const h of [a, b]) assert.ok(!existsSync(join(h.privateDir, 'vllm-harness')), `cleanup removed the node dir on ${h.netns}`);
});
