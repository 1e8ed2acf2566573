#!/usr/bin/env node
// Node-side tool: what Ansible runs on each node (baseline, dev) for bring-up
// checks, deploy, smoke test, suites, benchmark, results, teardown and cleanup.
// Each step is written once, on the target contract (lib/targets/target.ts):
// the lock, the run directory, the step record and progress around it are the
// same on every target; only the target (local processes, a Helm release)
// differs. Deploy and check read the configuration validated; the local target
// finds what runs from the node's deployment record, even after .config changed.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExitError, parseCli, runMain } from './lib/cli.js';
import { execOk } from './lib/exec.js';
import { STATE_DIR } from './lib/config/node-config.js';
import { bundleMismatch, type NodeRef } from './lib/deployment/index.js';
import { writeFileAtomic, writeJsonAtomic } from './lib/atomic-write.js';
import { LOG_START_FILE, nodeRunDir, recordStep } from './lib/results/node-run.js';
import { progressPath } from './lib/bench/progress.js';
import { runBenchmark } from './lib/bench/run-benchmark.js';
import { benchSettings } from './lib/config/bench-settings.js';
import { benchLine } from './lib/report/format-bench.js';
import { formatQuickTest, quickTest } from './lib/smoke/quick-test.js';
import { DEFAULT_EXTRA_VARS, loadNode, type LoadedNode } from './lib/stack/load-node.js';
import { KUBE_COMMANDS_USAGE } from './lib/targets/kube/usage.js';
import { takeSnapshot } from './lib/observability/metrics-snapshot.js';
import { systemInfo } from './lib/results/system-info.js';
import { openTarget, type AttachedStack, type NodeEnv, type NodeTarget, type StepReport } from './lib/targets/index.js';
import { localExpectations, runSuites, selectSuites, testParams } from './lib/suites/index.js';
import { progressFile } from './lib/suites/progress.js';

/** Exit code of `test` when suites ran and a case failed (every result is written). */
const CASES_FAILED = 3;

const USAGE = `usage: vllm-node <command> --node NAME [--extra-vars FILE] [--run-id ID] [--suites LIST] [--json]

Runs on a node of the inventory (Ansible calls it; you can too). The same steps on every target.
commands:
  check      bring-up checks: locally tools present, work dir writable, ports free (or held by this
             project's deployments); on Kubernetes the cluster (see below)
  deploy     replace what the node ran with the configured stack, wait until it serves
  smoke      one completion and one streamed chat through the deployed router, timed; exit 1 when malformed
  snapshot   the key metrics series of the run into metrics.json (from Prometheus, else the /metrics pages)
  bench      the configured benchmark workloads through the deployed router; results under the run's bench/
  test       the enabled test suites (or --suites) against the deployed stack; exit 3 when a case failed
  pack       put the run's log lines (process logs, or the pods' logs on Kubernetes) with the run's records
             and tar them; prints the tarball's path last
  teardown   stop what the node runs (its processes, or helm uninstall of its release); logs and results stay
  cleanup    teardown, then remove the node's work dir
  status     this node's live state (--json for scripts)
output:
  When a command succeeds, its last line on stdout is one JSON object, {"changed":BOOLEAN,...}:
  whether it changed the node (processes, a Helm release, its work dir, the run's files), and
  what the caller reads (pack: "tarball"; tool-versions: the versions). Ansible's changed_when
  reads it. deploy always changes the node (it replaces what ran); teardown and cleanup only when
  something ran or was left; check only when it made the work dir; a smoke test without
  --run-id never. status, whose output (--json) is for people and scripts, and a command that
  fails (test's exit 3 included) print no such line.
options:
  --node NAME         inventory hostname (vllm-baseline, vllm-dev)
  --extra-vars FILE   configuration (default: extra_vars.yaml in the current directory); its
                      directory is the project, whose .deployed/ holds the deployment records
  --run-id ID         record the step under <work dir>/runs/ID for the controller to collect
  --start-at MS       bench: start at this time (ms since the epoch), agreed with the other node
  --suites LIST       test: these suites (api,routing,scaling,lmcache,faults) instead of the enabled ones
  --json              machine-readable output (status)
  --bundle HASH       refuse to run unless this node's tools are the controller's bundle HASH (declared hosts:
                      make bringup ships the bundle; Ansible passes its hash)
${KUBE_COMMANDS_USAGE}`;

interface Flags {
  runId: string | null;
  suites: string | undefined;
  startAt: string | undefined;
  json: boolean;
}

interface StepContext {
  target: NodeTarget;
  env: NodeEnv;
  flags: Flags;
  /** The configured node; throws naming what is missing when there is none. */
  config(): LoadedNode;
  /** The run's folder on this node (its log start noted on the run's first step), or null without --run-id. */
  runDir(): Promise<string | null>;
}

interface Step {
  /** How the configuration is read: validated (check, deploy act on it), required, or optional (the record suffices). */
  config: 'validated' | 'required' | 'optional';
  /** Takes the node's lock (and the release's Lease on a cluster): the step changes, perturbs or measures the stack. */
  locked: boolean;
  /** What it did, or null for status, whose output (--json) is for people and scripts, not Ansible. */
  run(c: StepContext): Promise<StepReport | null>;
}

/** Runs fn with the deployed stack, closing what attaching opened; a clear error when nothing is deployed. */
async function withStack<T>(c: StepContext, fn: (s: AttachedStack) => Promise<T>): Promise<T> {
  const stack = await c.target.attach();
  if (!stack) throw new Error(`node ${c.env.ref.node} has nothing deployed; run make vllm first`);
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

/** Records the step under the run when there is one. */
const recorded = async <T>(runDir: string | null, step: string, work: () => Promise<T>): Promise<T> => (runDir ? recordStep(runDir, step, work) : work());

const STEPS = {
  check: {
    config: 'validated',
    locked: false,
    run: async ({ target, env }) => {
      // Locally the check makes the work dir when it is missing.
      const workDir = target.configured?.spec.workDir;
      const existed = workDir === undefined || existsSync(workDir);
      for (const l of await target.check()) env.progress(l);
      return { changed: !existed && existsSync(workDir) };
    },
  },
  deploy: {
    config: 'validated',
    locked: true,
    run: async ({ target, runDir, config }) => {
      const dir = await runDir();
      if (dir) {
        const { node, vars } = config();
        // Loaded here only: every other step of every node would pay for the YAML library.
        const { stringify } = await import('yaml');
        await writeFileAtomic(join(dir, 'config.yaml'), stringify({ node, vars }));
        await writeJsonAtomic(join(dir, 'system.json'), await systemInfo());
      }
      const result = await recorded(dir, 'deploy', () => target.deploy(dir));
      if (dir) await writeJsonAtomic(join(dir, 'deploy.json'), result);
      // Whatever ran is replaced, on every target (processes restarted, a new Helm revision).
      return { changed: true };
    },
  },
  smoke: {
    config: 'optional',
    locked: true,
    run: async (c) => {
      const dir = await c.runDir();
      const { node } = c.env.ref;
      await recorded(dir, 'smoke', () => withStack(c, async (stack) => {
        const result = await quickTest(stack.handle.routerUrl, stack.model, stack.apiKey);
        c.env.progress(formatQuickTest(node, result));
        if (dir) await writeJsonAtomic(join(dir, 'smoke.json'), result);
        if (!result.passed) throw new Error(`node ${node}: the smoke test failed (see above); ${stack.logsHint}`);
      }));
      // The stack is only read; the run's smoke.json is written when there is a run.
      return { changed: dir !== null };
    },
  },
  snapshot: {
    config: 'required',
    locked: true,
    run: async (c) => {
      const dir = await c.runDir();
      if (!dir) throw new Error('snapshot needs --run-id');
      const { node } = c.env.ref;
      const stack = await c.target.attach();
      if (!stack) {
        c.env.progress(`${node}: nothing deployed, so no metrics snapshot`);
        return { changed: false };
      }
      // A failed snapshot is recorded in the run's verdict; the exit stays 0 so that
      // packing the results, which Ansible runs next, still happens.
      let written = false;
      await recordStep(dir, 'metrics', async () => {
        const snapshot = await takeSnapshot(await stack.metricsSources());
        await writeJsonAtomic(join(dir, 'metrics.json'), snapshot);
        written = true;
        c.env.progress(`${node}: metrics snapshot: ${snapshot.source === 'prometheus' ? `${snapshot.series.length} series from Prometheus, ` : ''}${snapshot.pages.filter((p) => p.error === null).length} /metrics pages${snapshot.problems.length > 0 ? ` (${snapshot.problems.join('; ')})` : ''}`);
      }).catch((err: Error) => c.env.warn(`${node}: no metrics snapshot: ${err.message}`)).finally(() => stack.close());
      return { changed: written };
    },
  },
  bench: {
    config: 'required',
    locked: true,
    run: async (c) => {
      const { startAt: at } = c.flags;
      const startAt = at === undefined ? undefined : Number(at);
      if (startAt !== undefined && !Number.isSafeInteger(startAt)) throw new Error(`--start-at "${at}" is not a time in ms since the epoch`);
      const settings = benchSettings(c.config().vars);
      const dir = await c.runDir();
      const { node } = c.env.ref;
      await recorded(dir, 'benchmark', () => withStack(c, async (stack) => {
        const results = await runBenchmark({
          node, runId: c.flags.runId ?? `adhoc-${Date.now()}`, stack: stack.handle, model: stack.model,
          sessionKey: stack.sessionKey, apiKey: stack.apiKey, settings, startAt,
          outDir: join(dir ?? join(stack.workDir, 'bench-adhoc'), 'bench'), progressFile: progressPath(stack.workDir), log: c.env.progress,
        });
        for (const r of results) c.env.progress(benchLine(r));
        const empty = results.filter((r) => r.completed === 0);
        if (empty.length > 0) throw new Error(`node ${node}: no request of ${empty.map((r) => r.workload).join(', ')} completed (${empty.map((r) => JSON.stringify(r.errors_by_kind)).join(', ')}); ${stack.logsHint}`);
      }));
      // The stack is only measured; its results are written (under the run, or the work dir's bench-adhoc/).
      return { changed: true };
    },
  },
  test: {
    config: 'required',
    locked: true,
    run: async (c) => {
      // What the configuration promises is what the suites expect; the deployed stack is what they measure.
      const { vars, spec, apiKey } = c.config();
      const { node } = c.env.ref;
      const names = selectSuites(vars, c.flags.suites);
      if (names.length === 0) {
        c.env.progress(`${node}: no suite is enabled (CONFIG_VLLM_TEST_*) and none was asked for (SUITES=); nothing to run`);
        return { changed: false };
      }
      const dir = await c.runDir();
      await recorded(dir, 'test', () => withStack(c, async (stack) => {
        // Interrupted: loads stop and every perturbation is undone before exiting; a second signal exits at once.
        const abort = new AbortController();
        const onSignal = () => (abort.signal.aborted ? process.exit(130) : abort.abort());
        process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
        const started = performance.now();
        const run = await runSuites({
          stack: stack.handle, expect: localExpectations(spec, vars, apiKey), params: testParams(vars), suites: names,
          // Under Ansible the controller prints the tables; in a terminal, a line per case as it ends.
          runDir: dir, progressFile: progressFile(spec.workDir), print: process.stdout.isTTY ? c.env.progress : undefined, signal: abort.signal,
        });
        const cases = run.results.flatMap((r) => r.cases);
        const count = (s: string) => cases.filter((x) => x.status === s).length;
        c.env.progress(`${node}: ${names.join(', ')}: ${cases.length} cases, ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        if (abort.signal.aborted) throw new Error(`node ${node}: the suites were interrupted; the stack was put back`);
        if (run.failed) {
          const failed = run.results.flatMap((r) => r.cases.filter((x) => x.status === 'failed').map((x) => `${r.suite} › ${x.name}`));
          throw new ExitError(`node ${node}: ${failed.length} case(s) failed: ${failed.join(', ')}`, CASES_FAILED);
        }
      }));
      // Every perturbation is undone; the suites' results are written when there is a run.
      return { changed: dir !== null };
    },
  },
  pack: {
    config: 'required',
    locked: false,
    run: async (c) => {
      const dir = await c.runDir();
      if (!dir || !c.flags.runId) throw new Error('pack needs --run-id');
      await c.target.collectLogs(dir);
      const tarball = join(c.config().spec.workDir, 'runs', `${c.flags.runId}.tar.gz`);
      await execOk('tar', ['-czf', tarball, `--exclude=${LOG_START_FILE}`, '-C', dir, '.']);
      return { changed: true, tarball };
    },
  },
  teardown: {
    config: 'optional',
    locked: true,
    run: async ({ target, env }) => {
      const { lines, changed } = await target.teardown();
      for (const l of lines) env.progress(l);
      return { changed };
    },
  },
  cleanup: {
    config: 'optional',
    locked: true,
    run: async ({ target, env }) => {
      const { lines, changed } = await target.cleanup();
      for (const l of lines) env.progress(l);
      return { changed };
    },
  },
  status: {
    config: 'optional',
    locked: false,
    run: async ({ target, env, flags }) => {
      env.progress(await target.status(flags.json));
      return null;
    },
  },
} satisfies Record<string, Step>;

const isStep = (command: string): command is keyof typeof STEPS => Object.hasOwn(STEPS, command);

async function main(): Promise<void> {
  const { values, positionals } = parseCli(USAGE, {
    node: { type: 'string' }, 'extra-vars': { type: 'string' }, 'run-id': { type: 'string' }, suites: { type: 'string' }, json: { type: 'boolean' },
    'start-at': { type: 'string' }, bundle: { type: 'string' },
  });
  const command = positionals[0];
  if (!command) throw new Error(`no command given\n\n${USAGE}`);
  if (!values.node) throw new Error('--node NAME is required (the inventory hostname, e.g. vllm-baseline)');
  if (values.bundle !== undefined) {
    const mismatch = await bundleMismatch(values.bundle, values.node);
    if (mismatch) throw new Error(mismatch);
  }
  const extraVars = resolve(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const topdir = dirname(extraVars);
  const ref: NodeRef = { node: values.node, stateDir: join(topdir, STATE_DIR) };
  const runId = values['run-id'] ?? null;
  const env: NodeEnv = {
    ref, extraVars, topdir, runId, label: `vllm-node ${command}${runId ? ` --run-id ${runId}` : ''}`,
    progress: (line) => console.log(line), warn: (line) => console.error(line),
  };
  const step: Step | undefined = isStep(command) ? STEPS[command] : undefined;
  // A target's own commands (minikube-start…) need its configuration, as check does.
  const need = step?.config ?? 'required';
  // Teardown, cleanup, status and smoke also work with no configuration, or one without this node.
  const configured = need === 'optional'
    ? (existsSync(extraVars) ? await loadNode(ref.node, extraVars, { validate: false }).catch(() => null) : null)
    : await loadNode(ref.node, extraVars, { validate: need === 'validated' });
  const target = await openTarget(env, configured);
  const config = (): LoadedNode => {
    if (!target.configured) throw new Error(`vllm-node ${command} needs the node's configuration: ${extraVars} is missing or has no node ${ref.node}; run make defconfig-vllm-local (or another defconfig) first`);
    return target.configured;
  };
  let runDir: string | null | undefined;
  const context: StepContext = {
    target, env, config,
    flags: { runId, suites: values.suites, startAt: values['start-at'], json: values.json ?? false },
    runDir: async () => {
      if (runDir !== undefined) return runDir;
      runDir = runId ? nodeRunDir(config().spec.workDir, runId) : null;
      if (runDir) await target.markRunStart(runDir);
      return runDir;
    },
  };
  let report: StepReport | null;
  if (step) {
    report = await (step.locked ? target.withLock(command, () => step.run(context)) : step.run(context));
  } else {
    const own = Object.hasOwn(target.hostCommands, command) ? target.hostCommands[command] : undefined;
    if (!own) throw new Error(`unknown command "${command}" on the ${target.kind} target\n\n${USAGE}`);
    report = await (own.locked ? target.withLock(command, own.run) : own.run());
  }
  if (report) console.log(JSON.stringify(report));
}

runMain(main);
