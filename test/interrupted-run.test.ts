// An interrupted make vllm leaves nothing behind: kill make's process (TERM), or
// signal its whole process group (INT, as a terminal's Ctrl-C does, and TERM),
// during the suites and during the benchmark; within a
// few seconds no process of the run is left, no node lock is held, the run is
// recorded as interrupted with what it collected, and the next command runs clean.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { progressPath } from '../scripts/lib/bench/progress.js';
import { lockHolder } from '../scripts/lib/deployment/node-lock.js';
import { progressFile } from '../scripts/lib/suites/progress.js';
import { e2eToolsMissing } from './support/configure.js';
import { configureOnPorts, freePortBase, tempProject, type TempProject } from './support/temp-project.js';

const NODE = 'vllm-baseline';
/** A process of a run (not of the stack it deployed, which stays up as after any run). */
const RUN_PROCESS = /ansible-playbook|vllm-node\.js|vllm-playbook\.js|vllm-watch\.js|vllm-bench-watch\.js|^make\b/;
/** What "a few seconds" means here: the suites undo their faults first. */
const STOP_WITHIN_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runProcesses(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
      const zombie = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
      if (!zombie && (cmdline.includes(dir) || cwd === dir) && RUN_PROCESS.test(cmdline)) found.push(`${entry} ${cmdline}`);
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

/** The run's temp dir, its own so that what Ansible leaves there is the run's: Ansible unpacks each module in a folder of it. */
const tmpOf = (p: TempProject) => join(p.dir, 'tmp');
const ansibleFolders = async (p: TempProject) => (await readdir(tmpOf(p))).filter((name) => name.startsWith('ansible_'));

/** make started as the leader of a process group of its own, as a shell starts a job. */
function startMake(p: TempProject, ...args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn('make', args, { cwd: p.dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', TMPDIR: tmpOf(p) } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number, out: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s:\n${await out()}`);
    await sleep(200);
  }
}

async function interrupt(p: TempProject, step: 'test' | 'bench', how: 'make' | 'group', signal: 'SIGTERM' | 'SIGINT', ...args: string[]) {
  const started = Date.now();
  const foldersBefore = await ansibleFolders(p);
  const make = startMake(p, ...args);
  const stepRuns = async () => (await runProcesses(p.dir)).some((l) => l.includes(`vllm-node.js ${step} `));
  // Well inside the step: it has written its progress since this command started (the file stays from earlier runs).
  const workDir = join(p.dir, 'work', NODE);
  const progress = step === 'test' ? progressFile(workDir) : progressPath(workDir);
  const progressing = async () => ((await stat(progress).catch(() => null))?.mtimeMs ?? 0) >= started && (await stepRuns());
  await waitFor(`vllm-node ${step}'s progress`, progressing, 150_000, make.out);
  const killedAt = Date.now();
  process.kill(how === 'make' ? make.child.pid! : -make.child.pid!, signal);
  await waitFor('the end of every process of the run', async () => (await runProcesses(p.dir)).length === 0, STOP_WITHIN_MS, async () => `${make.out()}\nleft:\n${(await runProcesses(p.dir)).join('\n')}`);
  const stoppedMs = Date.now() - killedAt;
  assert.notEqual(await make.exited, 0);
  assert.equal(await lockHolder({ node: NODE, stateDir: join(p.dir, '.deployed') }), null, 'no lock is held');
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const run = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8'));
  assert.equal(run.verdict, 'interrupted', make.out());
  assert.equal(run.interrupted.signal, signal);
  assert.deepEqual(run.interrupted.not_collected, []);
  assert.match(make.out(), new RegExp(`run ${runId} recorded as interrupted`));
  // Ctrl-C lets Ansible's module wrapper remove the folder it unpacked into; a TERM does not (README says so).
  const left = (await ansibleFolders(p)).filter((name) => !foldersBefore.includes(name));
  if (signal === 'SIGINT') assert.deepEqual(left, [], 'Ansible\'s module folders are gone after Ctrl-C');
  return { runId, run, stoppedMs, out: make.out() };
}

test('an interrupted make vllm leaves no process, no lock, a run recorded as interrupted, and the next make vllm runs clean', { timeout: 600_000 }, async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  await mkdir(tmpOf(p));
  t.after(async () => {
    await p.make('vllm-teardown');
    await p.remove();
  });
  // Only the faults suite (the one with most to undo) and a benchmark long enough to be caught in.
  await configureOnPorts(p, 'vllm-local', await freePortBase(100), {
    VLLM_TEST_API: false, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_FAULTS: true,
    VLLM_BENCHMARK_DURATION: 20,
  });

  const suites = await interrupt(p, 'test', 'make', 'SIGTERM', 'vllm');
  assert.equal(suites.run.nodes[NODE].steps.deploy, 'pass');
  assert.equal(suites.run.nodes[NODE].steps.smoke, 'pass');
  assert.equal(suites.run.nodes[NODE].steps.test, 'fail', 'the suites record that they were interrupted');
  const testStep = JSON.parse(await readFile(join(p.dir, 'results', suites.runId, NODE, 'steps', (await readdir(join(p.dir, 'results', suites.runId, NODE, 'steps'))).find((f) => f.includes('test'))!), 'utf8'));
  assert.match(testStep.error, /interrupted/);

  // Ctrl-C in the terminal: SIGINT to make's whole foreground group (make alone would wait for its recipe to end).
  const groupSuites = await interrupt(p, 'test', 'group', 'SIGINT', 'vllm-test');
  const bench = await interrupt(p, 'bench', 'make', 'SIGTERM', 'vllm-benchmark');
  const groupBench = await interrupt(p, 'bench', 'group', 'SIGTERM', 'vllm-benchmark');
  for (const r of [bench, groupBench]) assert.equal(r.run.nodes[NODE].steps.benchmark, undefined, 'no benchmark result from a cut benchmark');
  t.diagnostic(`stopped within ${[suites, groupSuites, bench, groupBench].map((r) => `${(r.stoppedMs / 1000).toFixed(1)} s`).join(', ')} (TERM to make and INT to its group during the suites; TERM to make and to its group during the benchmark)`);

  const clean = await p.make('vllm', 'SUITES=faults');
  assert.equal(clean.exitCode, 0, clean.stdout + clean.stderr);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  assert.equal(JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8')).verdict, 'pass');
});
