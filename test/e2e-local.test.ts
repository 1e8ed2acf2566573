// The main job end to end, as a user runs it: make -> Ansible -> real engine
// simulator and router processes on loopback -> results, status, teardown.
import assert from 'node:assert/strict';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { which } from 'zx';
import { readPidFile, isRunning, type PidRecord } from '../scripts/lib/stack/process-control.js';
import { portsInUse } from '../scripts/lib/targets/local/port-check.js';
import { tempProject, type TempProject } from './support/temp-project.js';
import { tool } from './support/configure.js';
import { e2eProject, routerRoutes } from './support/e2e-project.js';
import { until } from './support/loopback.js';

const MODEL = 'facebook/opt-125m';


// The benchmark (bench-e2e.test.ts) and the suites (e2e-suites.test.ts) have their own end-to-end tests:
// this one checks the workflow around them.
const ONLY_WORKFLOW = {
  VLLM_BENCHMARK_ENABLED: false,
  VLLM_TEST_API: false, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: false,
};

async function pids(p: TempProject, node: string): Promise<PidRecord[]> {
  const records: PidRecord[] = [];
  for (const id of ['router', 'engine-0', 'engine-1', 'prometheus']) {
    const record = await readPidFile(join(p.dir, 'work', node, 'pids', `${id}.pid`));
    if (record) records.push(record);
  }
  return records;
}

async function completion(url: string): Promise<{ status: number; engine: string | null }> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'hello there', max_tokens: 4 }),
  });
  await res.arrayBuffer();
  return { status: res.status, engine: res.headers.get('x-router-engine') };
}

test('make vllm on the local target: deploy, smoke, results, status, crash, redeploy, teardown', { timeout: 300_000 }, async (t) => {
  const project = await e2eProject(t, 'vllm-local', { extra: ONLY_WORKFLOW });
  if (!project) return;
  const { p, base } = project;
  const router = `http://127.0.0.1:${base}`;

  const run = await p.make('vllm');
  assert.equal(run.exitCode, 0, run.stdout + run.stderr);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const record = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8'));
  assert.equal(record.verdict, 'pass');
  assert.deepEqual(record.nodes['vllm-baseline'].steps, { deploy: 'pass', smoke: 'pass', metrics: 'pass' });
  const nodeDir = join(p.dir, 'results', runId, 'vllm-baseline');
  for (const f of ['config.yaml', 'system.json', 'deploy.json', 'smoke.json', 'metrics.json', 'logs/engine-0.log', 'logs/router.log']) {
    assert.ok(await stat(join(nodeDir, f)), `results/${runId}/vllm-baseline/${f} exists`);
  }
  const smoke = JSON.parse(await readFile(join(nodeDir, 'smoke.json'), 'utf8'));
  assert.equal(smoke.passed, true);
  assert.ok(smoke.chat_stream.ttft_ms > 0);

  // Live behaviour: the router spreads requests over both engines.
  const served = new Set<string | null>();
  for (let i = 0; i < 6; i++) {
    const r = await completion(router);
    assert.equal(r.status, 200);
    served.add(r.engine);
  }
  assert.ok(served.size >= 1);

  const prometheus = Boolean(await which('prometheus', { nothrow: true }));
  const metrics = JSON.parse(await readFile(join(nodeDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.source, prometheus ? 'prometheus' : 'metrics-pages');
  if (prometheus) {
    const monitor = await p.make('vllm-monitor');
    assert.equal(monitor.exitCode, 0, monitor.stdout + monitor.stderr);
    assert.match(monitor.stdout, new RegExp(`✅ vllm-baseline  prometheus  http://127.0.0.1:${base + 90}  ready: 3/3 targets up`));
  }

  const quick = await p.make('vllm-quick-test');
  assert.equal(quick.exitCode, 0, quick.stdout + quick.stderr);
  assert.match(quick.stdout, /✅ vllm-baseline/);

  const status = await p.make('vllm-status-simplified');
  assert.equal(status.exitCode, 0, status.stderr);
  assert.match(status.stdout, /🟢 vllm-baseline running/);
  assert.match(status.stdout, new RegExp(`2/2 engines ready serving ${MODEL}`));
  assert.match(status.stdout, new RegExp(`last run ${runId}: pass`));

  // .config switched to a Kubernetes cluster (here one that does not answer): status still shows the
  // local stack this project runs, from its deployment record, in full or simplified.
  const kube = await tempProject();
  t.after(() => kube.remove());
  assert.equal((await kube.make('defconfig-vllm-existing-cluster')).exitCode, 0);
  await writeFile(join(kube.dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n'
    + 'contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: x}}]\n');
  await kube.setConfig({ VLLM_KUBECONFIG: join(kube.dir, 'kubeconfig') });
  assert.equal((await kube.make('extra_vars.yaml')).exitCode, 0);
  const kubeVars = join(p.dir, 'kube-extra-vars.yaml');
  await writeFile(kubeVars, await readFile(join(kube.dir, 'extra_vars.yaml')));
  const elsewhere = await tool(p, 'vllm-status', '--extra-vars', kubeVars);
  const elsewhereShort = await tool(p, 'vllm-status', '--simplified', '--extra-vars', kubeVars);
  assert.equal(elsewhere.exitCode, 0, elsewhere.stderr);
  assert.match(elsewhere.stdout, /vllm-baseline: down \(release/);
  assert.match(elsewhere.stdout, /Also on the local target, deployed by this project \(\.deployed\/\) but not in the configuration/);
  assert.match(elsewhere.stdout, new RegExp(`🟢 node vllm-baseline \\(baseline\\): running, not in the configuration[\\s\\S]*engine-0 +http://127.0.0.1:\\d+`));
  assert.match(elsewhereShort.stdout, /🟢 vllm-baseline running \(not in the configuration\)/);
  assert.ok(elsewhere.stdout.length > elsewhereShort.stdout.length, 'make vllm-status shows more than -simplified');

  // A crashed engine is reported by status, and the next make vllm restarts it.
  const before = await pids(p, 'vllm-baseline');
  const engine1 = before.find((r) => r.marker.includes('vllm-baseline-engine-1'));
  assert.ok(engine1, 'engine-1 has a pid file');
  process.kill(engine1.pid, 'SIGKILL');
  await until('engine-1 gone', () => !isRunning(engine1));
  const degraded = await p.make('vllm-status-simplified');
  assert.match(degraded.stdout, /🟡 vllm-baseline degraded/);
  assert.match(degraded.stdout, /engine-1 is not running/);

  const again = await p.make('vllm');
  assert.equal(again.exitCode, 0, again.stdout + again.stderr);
  const after = await pids(p, 'vllm-baseline');
  for (const old of before) assert.equal(isRunning(old), false, `old process ${old.command} was stopped by the redeploy`);
  assert.ok(after.every(isRunning));
  assert.match((await p.make('vllm-status-simplified')).stdout, /🟢 vllm-baseline running/);

  // Status reads the router's own settings: switched to round robin behind the harness's back, it says so.
  const routerConfig = join(p.dir, 'work', 'vllm-baseline', 'router-config.json');
  await writeFile(routerConfig, JSON.stringify({ ...JSON.parse(await readFile(routerConfig, 'utf8')), routing_logic: 'roundrobin' }));
  await routerRoutes(router, 'roundrobin');
  const live = await p.make('vllm-status-simplified');
  assert.match(live.stdout, new RegExp(`router ${router} \\(builtin, roundrobin\\)`));
  assert.match(live.stdout, /the router routes roundrobin, but was deployed with prefixaware/);

  // Ansible's recap says what changed, as the node tool reported it: teardown stopped the stack; cleanup
  // removed the work dir; cleanup again found nothing to do.
  const changed = (out: { stdout: string }) => /^vllm-baseline\s+:\s+ok=\d+\s+changed=(\d+)/m.exec(out.stdout)?.[1];
  const recap = { ANSIBLE_STDOUT_CALLBACK: 'default' };
  const down = await p.makeWith(recap, 'vllm-teardown');
  assert.equal(down.exitCode, 0, down.stdout + down.stderr);
  assert.equal(changed(down), '1', down.stdout);
  for (const r of after) assert.equal(isRunning(r), false, `${r.command} is gone after teardown`);
  assert.deepEqual(await portsInUse(Array.from({ length: 4 }, (_, i) => base + i)), []);
  assert.match((await p.make('vllm-status-simplified')).stdout, /🔴 vllm-baseline stopped/);
  const silent = await p.make('vllm-monitor');
  assert.notEqual(silent.exitCode, 0, 'vllm-monitor fails when Prometheus does not answer');
  assert.match(silent.stdout, /❌ vllm-baseline  prometheus/);
  assert.ok(await stat(join(p.dir, 'results', runId, 'run.json')), 'results stay after teardown');
  assert.match((await p.make('vllm-teardown')).stdout, /nothing is deployed .*nothing to do/, 'teardown again: Ansible has no node to run on');
  const clean = await p.makeWith(recap, 'vllm-cleanup');
  assert.equal(changed(clean), '1', clean.stdout);
  const cleanAgain = await p.makeWith(recap, 'vllm-cleanup');
  assert.equal(cleanAgain.exitCode, 0, cleanAgain.stdout + cleanAgain.stderr);
  assert.equal(changed(cleanAgain), '0', `cleanup with nothing left reports no change:\n${cleanAgain.stdout}`);
});
