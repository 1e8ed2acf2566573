// Every documented configuration of the local target, deployed through make
// as a new user would, one after another in one project: each deploy must
// replace whatever the previous configuration left running (nodes it no longer
// has included), status must say what changed meanwhile, one command at a
// time per node, per-run logs, plain output, and mrproper stopping everything.
// Deploy + smoke only (suites and benchmark are switched off): this test is
// about the spine, and must stay cheap.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { isRunning, readPidFile, type PidRecord } from '../scripts/lib/stack/process-control.js';
import type { StatusReport } from '../scripts/lib/status/node-status.js';
import type { SimplifiedReport } from '../scripts/lib/status/format-status.js';
import { DOCUMENTED, DOCUMENTED_LOCAL } from './support/documented-configs.js';
import { configureOnPorts, freePortBase, processesUnder, REPO, tempProject, type TempProject } from './support/temp-project.js';
import { e2eToolsMissing } from './support/configure.js';

interface Expect { lmcache: boolean; routing: string; engines: number }
const LOCAL: Record<string, Record<string, Expect>> = {
  // The README's own A/B example first: only dev offloads.
  'vllm-local+ab-lmcache': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  // From A/B to one node: dev must be stopped by make vllm.
  'vllm-quick-test': { 'vllm-baseline': { lmcache: false, routing: 'roundrobin', engines: 1 } },
  'vllm-local+ab': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+lmcache': { 'vllm-baseline': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  'vllm-local+ab-router': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'session', engines: 2 } },
  'vllm-local+ab+lmcache': { 'vllm-baseline': { lmcache: true, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  'vllm-local+lora': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+ab-lora-affinity': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+pd': { 'vllm-baseline': { lmcache: false, routing: 'disaggregated_prefill', engines: 2 } },
  'vllm-local+ab-pd': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'disaggregated_prefill', engines: 2 } },
};

// Steps that are not the point here (the suites and the benchmark, as they land).
const SPINE_ONLY = {
  VLLM_TEST_API: false, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_LORA: false, VLLM_TEST_PD: false, VLLM_TEST_FAULTS: false,
  VLLM_BENCHMARK_ENABLED: false,
};

// What Ansible's default output looks like; none of it may reach users.
const ANSIBLE_NOISE = /Could not match supplied host pattern|PLAY \[|PLAY RECAP|stderr_lines|\bdelta:|\bcmd:/;


async function statusJson<T>(p: TempProject, ...flags: string[]): Promise<T> {
  const out = await $({ cwd: p.dir, quiet: true })`node ${join(REPO, 'dist', 'scripts', 'vllm-status.js')} --json ${flags}`;
  return JSON.parse(out.stdout) as T;
}

async function pidRecords(p: TempProject, node: string): Promise<PidRecord[]> {
  const dir = join(p.dir, 'work', node, 'pids');
  const files = existsSync(dir) ? await readdir(dir) : [];
  const records = await Promise.all(files.map((f) => readPidFile(join(dir, f))));
  return records.filter((r): r is PidRecord => r !== null);
}

async function runs(p: TempProject): Promise<string[]> {
  const dir = join(p.dir, 'results');
  return existsSync(dir) ? (await readdir(dir)).filter((d) => /^\d{8}-/.test(d)).sort() : [];
}

test('the README names only documented configurations, and the local ones are all deployed below', async () => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  for (const m of readme.matchAll(/defconfig-(vllm[a-z0-9+-]*)/g)) {
    assert.ok(DOCUMENTED.includes(m[1] as string), `README shows defconfig-${m[1]}, which the tests do not cover: add it to test/support/documented-configs.ts`);
  }
  assert.deepEqual(Object.keys(LOCAL).sort(), [...DOCUMENTED_LOCAL].sort());
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

test('every documented local configuration deploys through make, each replacing what the previous one left running', { timeout: 1_500_000 }, async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  t.after(async () => {
    if (existsSync(join(p.dir, 'dist'))) await p.make('vllm-teardown');
    for (const pid of await processesUnder(p.dir)) process.kill(pid, 'SIGKILL');
    await p.remove();
  });
  const base = await freePortBase(200);

  let previous: Record<string, PidRecord[]> = {};
  let previousSpec = '';
  for (const [spec, nodes] of Object.entries(LOCAL)) {
    await configureOnPorts(p, spec, base, SPINE_ONLY);
    if (!previousSpec) {
      // A port taken by another program: bring-up says so plainly, nothing starts, no run is recorded.
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(base, '127.0.0.1', resolve));
      const refused = await p.make('vllm');
      await new Promise((resolve) => squatter.close(resolve));
      assert.notEqual(refused.exitCode, 0);
      assert.match(refused.stdout + refused.stderr, new RegExp(`❌ vllm-baseline failed:\\n\\s+vllm-baseline: error: node vllm-baseline is not ready:\\n.*port\\(s\\) ${base} \\(router\\) already in use`));
      assert.doesNotMatch(refused.stdout + refused.stderr, ANSIBLE_NOISE);
      assert.deepEqual(await runs(p), []);
    } else if (spec === 'vllm-quick-test' || spec === 'vllm-local') {
      // Before redeploying, status compares what runs with the new configuration.
      const before = await statusJson<SimplifiedReport>(p, '--simplified');
      for (const name of Object.keys(previous)) {
        const n = before.nodes.find((x) => x.node === name);
        assert.ok(n && n.state === 'running', `${previousSpec} -> ${spec}: ${name} still runs and status shows it`);
        assert.equal(n.configured, name in nodes, `${previousSpec} -> ${spec}: ${name} configured or not`);
      }
      if (spec === 'vllm-quick-test') {
        assert.equal(before.nodes.find((x) => x.node === 'vllm-baseline')?.config_changed, true, 'drift from vllm-local+ab-lmcache to vllm-quick-test');
        assert.ok(before.hints.some((h) => /make vllm .*configuration changed/.test(h)), before.hints.join('\n'));
      }
    }

    if (spec === 'vllm-local') {
      // Two make vllm at once: the second is refused before it starts anything, naming the first.
      assert.equal((await p.make('bringup')).exitCode, 0);
      const first = p.make('vllm');
      let firstDone = 0;
      void first.then(() => { firstDone = performance.now(); });
      const lock = join(p.dir, '.deployed', 'vllm-baseline.lock');
      while (!existsSync(lock)) await new Promise((resolve) => setTimeout(resolve, 50));
      const holder = JSON.parse(await readFile(lock, 'utf8')) as { pid: number; command: string };
      const [second, teardown] = await Promise.all([p.make('vllm'), p.make('vllm-teardown')]);
      const refusedAt = performance.now();
      for (const other of [second, teardown]) {
        assert.notEqual(other.exitCode, 0);
        assert.match(other.stderr, new RegExp(`node vllm-baseline is busy: "make vllm" \\(pid ${holder.pid}\\)`));
      }
      const out = await first;
      assert.equal(out.exitCode, 0, out.stdout + out.stderr);
      assert.ok(firstDone === 0 || firstDone > refusedAt, 'the refused commands ran while the first held the node');
    } else {
      const out = await p.make('vllm');
      assert.equal(out.exitCode, 0, `${spec}: ${out.stdout}${out.stderr}`);
      assert.doesNotMatch(out.stdout + out.stderr, ANSIBLE_NOISE, spec);
    }

    const runId = await readlink(join(p.dir, 'results', 'latest'));
    const record = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8'));
    assert.equal(record.verdict, 'pass', `${spec}: ${JSON.stringify(record)}`);
    assert.deepEqual(Object.keys(record.nodes).sort(), Object.keys(nodes).sort(), spec);
    const status = await statusJson<StatusReport>(p);
    assert.deepEqual(status.nodes.map((n) => n.node).sort(), Object.keys(nodes).sort(), `${spec}: status shows the configured nodes only`);
    for (const n of status.nodes) {
      const want = nodes[n.node] as Expect;
      assert.equal(n.state, 'running', `${spec}: ${n.node}`);
      assert.deepEqual([n.lmcache, n.routing_logic, n.engines_ready, n.drift], [want.lmcache, want.routing, want.engines, []], `${spec}: ${n.node}`);
    }
    for (const [name, records] of Object.entries(previous)) {
      if (!(name in nodes)) for (const r of records) assert.equal(isRunning(r), false, `${spec}: ${name}'s ${r.command} was stopped`);
    }
    previous = Object.fromEntries(await Promise.all(Object.keys(nodes).map(async (n) => [n, await pidRecords(p, n)] as const)));
    previousSpec = spec;
  }

  // Each run's logs hold that run's lines: the router log of the last run has its smoke test's two requests only.
  const all = await runs(p);
  assert.equal(all.length, Object.keys(LOCAL).length, 'one run per make vllm; refused commands recorded none');
  const lastLog = await readFile(join(p.dir, 'results', all.at(-1) as string, 'vllm-baseline', 'logs', 'router.log'), 'utf8');
  assert.equal(lastLog.match(/INFO request /g)?.length, 2, lastLog);
  assert.ok(((await readFile(join(p.dir, 'work', 'vllm-baseline', 'logs', 'router.log'), 'utf8')).match(/INFO request /g)?.length ?? 0) > 2);

  // mrproper with a configuration that no longer has dev: everything stops, results stay.
  await configureOnPorts(p, 'vllm-quick-test', base, SPINE_ONLY);
  const proper = await p.make('mrproper');
  assert.equal(proper.exitCode, 0, proper.stdout + proper.stderr);
  assert.match(proper.stdout, /vllm-dev: stopped router/);
  for (const r of Object.values(previous).flat()) assert.equal(isRunning(r), false, `${r.command} stopped by mrproper`);
  assert.deepEqual(await processesUnder(p.dir), []);
  assert.equal(existsSync(join(p.dir, '.deployed')), false);
  assert.deepEqual(await runs(p), all, 'results stay');
});
