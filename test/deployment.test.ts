// The deployment records, the node lock and config drift: what keeps a
// running deployment found whatever .config says, and one command per node.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { fileURLToPath } from 'node:url';
import {
  acquireNodeLock, describeDrift, listRecords, lockFile, lockHolder, NodeBusyError, readRecord, recordFile,
  restoreSecrets, specDrift, withNodeLock, writeRecord, type DeploymentRecord,
} from '../scripts/lib/deployment/index.js';
import { copyRunLogs, markRunStart } from '../scripts/lib/results/node-run.js';
import { nodePlan, type StackConfigVars, type StackNodeSettings } from '../scripts/lib/config/node-plan.js';

import { STATE_DIR } from '../scripts/lib/deployment/index.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { REPO, tempProject } from './support/temp-project.js';

const LOCK_MODULE = fileURLToPath(new URL('../scripts/lib/deployment/node-lock.js', import.meta.url));

const vars: StackConfigVars = {
  vllm_engine: 'sim', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
  vllm_max_model_len: 2048, vllm_max_num_seqs: 32, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false,
  vllm_use_cpu_inference: true, vllm_sim_prefill_time_per_token_us: 200, vllm_sim_inter_token_latency_us: 10000,
  vllm_sim_kv_blocks: 4096, vllm_sim_block_size: 16, vllm_sim_load_factor_pct: 150, vllm_sim_seed: 42,
  vllm_router_enabled: true, vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 2,
  vllm_router_request_stats_window: 60, vllm_router_outlier_consecutive_5xx: 5, vllm_router_request_timeout: 600, vllm_router_max_concurrency: 4096, vllm_observability_enabled: true, vllm_autoscaling_enabled: false,
  vllm_prometheus_scrape_interval: 5, vllm_alert_error_rate_pct: 5, vllm_alert_ttft_p95_ms: 2000, vllm_alert_kv_cache_usage_pct: 90, vllm_alert_queue_depth: 10,
};

function nodeSettings(stateDir: string): StackNodeSettings {
  return {
    name: 'vllm-baseline', role: 'baseline', host: null, workDir: '/w/vllm-baseline', stateDir, routerPort: 8000,
    enginePortBase: 8001, prometheusPort: 9090, routerImpl: 'builtin', routingLogic: 'prefixaware', lmcacheEnabled: false, extraEngineArgs: [],
  };
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A separate process that takes the node lock, says so, and holds it until killed or for holdMs. */
function lockHolderProcess(stateDir: string, command: string, holdMs = 60_000): Promise<{ pid: number; exited: Promise<void>; kill: () => void }> {
  const code = `
    const { acquireNodeLock } = await import(${JSON.stringify(LOCK_MODULE)});
    const release = await acquireNodeLock({ node: 'vllm-baseline', stateDir: ${JSON.stringify(stateDir)} }, ${JSON.stringify(command)});
    console.log('locked');
    setTimeout(async () => { await release(); process.exit(0); }, ${holdMs});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve({ pid: child.pid as number, exited, kill: () => child.kill('SIGKILL') });
    });
    child.once('exit', (c) => reject(new Error(`lock holder exited (${c}) before locking`)));
  });
}

test('a second command on a busy node is refused at once, naming the holder and its pid', async (t) => {
  const stateDir = await tempDir(t, 'lock-');
  const holder = await lockHolderProcess(stateDir, 'make vllm');
  t.after(async () => {
    holder.kill();
    await holder.exited;
  });
  const ref = { node: 'vllm-baseline', stateDir };
  const started = performance.now();
  const err = await withNodeLock(ref, 'make vllm-teardown', async () => 'ran').then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NodeBusyError, 'refused');
  assert.ok(performance.now() - started < 2000, 'refused at once');
  assert.match(err.message, new RegExp(`node vllm-baseline is busy: "make vllm" \\(pid ${holder.pid}\\)`));
  assert.match(err.message, new RegExp(`kill ${holder.pid}`));
  assert.equal((await lockHolder(ref))?.pid, holder.pid, 'status sees who holds it');
});

test('a command that waits gets the node once the holder is done', async (t) => {
  const stateDir = await tempDir(t, 'lock-');
  const holder = await lockHolderProcess(stateDir, 'make vllm', 300);
  const ref = { node: 'vllm-baseline', stateDir };
  const ran = await withNodeLock(ref, 'make vllm-benchmark', async () => (await lockHolder(ref))?.command, { waitMs: 20_000, pollMs: 50 });
  assert.equal(ran, 'make vllm-benchmark');
  await holder.exited;
  assert.equal(await lockHolder(ref), null, 'released after the work');
  await assert.rejects(readFile(lockFile(ref)), /ENOENT/);
});

test('the lock of a holder that died is taken over', async (t) => {
  const stateDir = await tempDir(t, 'lock-');
  const holder = await lockHolderProcess(stateDir, 'make vllm');
  holder.kill();
  await holder.exited;
  const ref = { node: 'vllm-baseline', stateDir };
  assert.equal(await lockHolder(ref), null, 'a dead holder holds nothing');
  assert.equal(await withNodeLock(ref, 'make vllm', async () => 'ran'), 'ran');
});

test('steps started beneath the holder (make -> ansible -> node tool) share its lock; others do not', async (t) => {
  const stateDir = await tempDir(t, 'lock-');
  const ref = { node: 'vllm-baseline', stateDir };
  const release = await acquireNodeLock(ref, 'make vllm');
  t.after(release);
  // A child of this process: re-entrant.
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { withNodeLock } = await import(${JSON.stringify(LOCK_MODULE)});
    console.log(await withNodeLock({ node: 'vllm-baseline', stateDir: ${JSON.stringify(stateDir)} }, 'vllm-node deploy', async () => 'step ran'));`]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0);
  assert.equal(out.trim(), 'step ran');
  assert.equal((await lockHolder(ref))?.command, 'make vllm', 'the holder still holds it');
  // Other nodes are independent.
  assert.equal(await withNodeLock({ node: 'vllm-dev', stateDir }, 'make vllm-teardown', async () => 'dev ran'), 'dev ran');
});

test('a deployment record never holds a secret, and attaching reads the secrets again', async (t) => {
  const stateDir = await tempDir(t, 'rec-');
  const spec = nodePlan(vars, nodeSettings(stateDir), { apiKey: 'sk-very-secret', hfToken: 'hf-secret' });
  assert.equal(spec.engine.env.VLLM_API_KEY, 'sk-very-secret');
  const record: DeploymentRecord = {
    node: 'vllm-baseline', role: 'baseline', host: null, target: 'local', state: 'deployed',
    deployer: { pid: 1, start: null, command: 'vllm-node deploy' }, startedAt: '', deployedAt: '', runId: null,
    secretFiles: { apiKey: '/keys/api', hfToken: '' }, spec, stack: { engines: [0, 1], router: true, prometheus: false },
  };
  await writeRecord(record);
  const text = await readFile(recordFile({ node: 'vllm-baseline', stateDir }), 'utf8');
  assert.doesNotMatch(text, /sk-very-secret|hf-secret/);
  const read = await readRecord({ node: 'vllm-baseline', stateDir });
  assert.ok(read);
  assert.equal(read.secretFiles.apiKey, '/keys/api');
  assert.equal(restoreSecrets(read.spec, { apiKey: 'sk-again' }).engine.env.VLLM_API_KEY, 'sk-again');
  assert.equal(restoreSecrets(read.spec, {}).engine.env.VLLM_API_KEY, undefined, 'a secret that is gone is left out');
  // Lock files and temporary files beside the records are not records.
  await writeFile(join(stateDir, 'vllm-dev.lock'), '{}');
  assert.deepEqual((await listRecords(stateDir)).map((r) => r.node), ['vllm-baseline']);
  await writeFile(recordFile({ node: 'vllm-dev', stateDir }), 'not json');
  await assert.rejects(listRecords(stateDir), /vllm-dev\.json is not a deployment record of node vllm-dev/);
});

test('drift names each changed setting once, deployed -> configured, and a part switched off as one change', () => {
  const stateDir = '/p/.deployed';
  const deployed = nodePlan(vars, nodeSettings(stateDir));
  assert.deepEqual(specDrift(deployed, nodePlan(vars, nodeSettings(stateDir))), [], 'same configuration, no drift');
  const configured = nodePlan({ ...vars, vllm_replica_count: 1, vllm_max_num_seqs: 256, vllm_observability_enabled: false },
    { ...nodeSettings(stateDir), routingLogic: 'roundrobin' });
  assert.deepEqual(specDrift(deployed, configured).map(describeDrift), [
    'maxReplicas: 2 → 1',
    'prometheus: on → off',
    'replicas: 2 → 1',
    'router.routingLogic: prefixaware → roundrobin',
    'engine.flags --max-num-seqs: 32 → 256',
  ]);
  const keyed = nodePlan(vars, nodeSettings(stateDir), { apiKey: 'a' });
  assert.deepEqual(specDrift(keyed, nodePlan(vars, nodeSettings(stateDir), { apiKey: 'b' })), [], 'secret values are never compared');
  assert.deepEqual(specDrift(keyed, deployed).map((d) => d.setting), ['engine.env.VLLM_API_KEY', 'router.env.VLLM_API_KEY'], 'a secret set or unset is');
});

test("a run's logs hold only what was written during the run", async (t) => {
  const dir = await tempDir(t, 'runlogs-');
  const logs = join(dir, 'logs');
  const runDir = join(dir, 'runs', 'r');
  await mkdir(logs, { recursive: true });
  await writeFile(join(logs, 'router.log'), 'old request 1\nold request 2\n');
  await writeFile(join(logs, 'engine-1.log'), 'an engine of an earlier deployment\n');
  await writeFile(join(logs, 'engine-0.log'), 'earlier engine line that cleanup will remove\n');
  await markRunStart(runDir, logs);
  await appendFile(join(logs, 'router.log'), 'this run\n');
  await writeFile(join(logs, 'engine-0.log'), 'new\n');
  await writeFile(join(logs, 'prometheus.log'), 'started during the run\n');
  await markRunStart(runDir, logs);
  assert.deepEqual(await copyRunLogs(runDir, logs), ['engine-0.log', 'prometheus.log', 'router.log']);
  assert.equal(await readFile(join(runDir, 'logs', 'router.log'), 'utf8'), 'this run\n');
  assert.equal(await readFile(join(runDir, 'logs', 'engine-0.log'), 'utf8'), 'new\n', 'a log replaced during the run is the run\'s whole');
  assert.equal(await readFile(join(runDir, 'logs', 'prometheus.log'), 'utf8'), 'started during the run\n');
  assert.ok(!(await readdir(join(runDir, 'logs'))).includes('engine-1.log'), 'a log that gained nothing is left out');
});

test('on Kubernetes too, a step that changes the release is refused while another command holds the node', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  await configureProject(p, 'vllm');
  const holder = await lockHolderProcess(join(p.dir, STATE_DIR), 'make vllm');
  t.after(async () => {
    holder.kill();
    await holder.exited;
  });
  // Without the lock, teardown would go on to look for the cluster.
  const out = await $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist/scripts/vllm-node.js')} teardown --node vllm-baseline`;
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, new RegExp(`node vllm-baseline is busy: "make vllm" \\(pid ${holder.pid}\\)`));
});
