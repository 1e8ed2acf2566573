#!/usr/bin/env node
// Node-side tool: what Ansible runs on each node (baseline, dev) for bring-up
// checks, deploy, smoke test, packing results, teardown and cleanup. Deploy
// and check read the configuration; everything else works from the node's
// deployment record, so it finds what runs even after .config changed or is gone.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ExitError, parseCli, runMain } from './lib/cli.js';
import { execOk } from './lib/exec.js';
import { STATE_DIR } from './lib/config/node-config.js';
import { readRecord, withNodeLock, type NodeRef } from './lib/deployment/index.js';
import { writeFileAtomic, writeJsonAtomic } from './lib/results/atomic-write.js';
import { copyRunLogs, LOG_START_FILE, markRunStart, nodeRunDir, recordStep } from './lib/results/node-run.js';
import { progressPath } from './lib/bench/progress.js';
import { runBenchmark } from './lib/bench/run-benchmark.js';
import { benchSettings } from './lib/bench/settings.js';
import { benchLine } from './lib/report/format-bench.js';
import { formatQuickTest, quickTest } from './lib/smoke/quick-test.js';
import { DEFAULT_EXTRA_VARS, loadNode, type LoadedNode } from './lib/stack/load-node.js';
import { KUBE_COMMANDS_USAGE } from './lib/targets/kube/usage.js';
import { LocalStack } from './lib/targets/local/local-stack.js';
import { snapshotSources } from './lib/targets/local/metrics-sources.js';
import { takeSnapshot } from './lib/observability/metrics-snapshot.js';
import { checkNode } from './lib/targets/local/node-check.js';
import { systemInfo } from './lib/results/system-info.js';
import { formatFull } from './lib/status/format-status.js';
import { localNodeStatus } from './lib/status/collect-status.js';
import { localExpectations, runSuites, selectSuites, testParams } from './lib/suites/index.js';
import { progressFile } from './lib/suites/progress.js';

/** Exit code of `test` when suites ran and a case failed (every result is written). */
/** Kubernetes steps that change a node's release or cluster; suites and benchmark take the lock below. */
const KUBE_LOCKED = new Set(['minikube-start', 'deploy', 'smoke', 'snapshot', 'teardown', 'cleanup']);
const CASES_FAILED = 3;

const USAGE = `usage: vllm-node <command> --node NAME [--extra-vars FILE] [--run-id ID] [--suites LIST] [--json]

Runs on a node of the inventory (Ansible calls it; you can too).
commands:
  check      tools present, work dir writable, ports free (or held by this project's deployments)
  deploy     stop what the node ran before, start engines, router and Prometheus, wait until they serve
  smoke      one completion and one streamed chat through the deployed router, timed; exit 1 when malformed
  snapshot   the key metrics series of the run into metrics.json (from Prometheus, else the /metrics pages)
  bench      the configured benchmark workloads through the deployed router; results under the run's bench/
  test       the enabled test suites (or --suites) against the deployed stack; exit 3 when a case failed
  pack       put the run's log lines with the run's records and tar them; prints the tarball's path last
  teardown   stop every process the node's deployment record names; logs and results stay
  cleanup    teardown, then remove the node's work dir
  status     this node's live state (--json for scripts)
options:
  --node NAME         inventory hostname (vllm-baseline, vllm-dev)
  --extra-vars FILE   configuration (default: extra_vars.yaml in the current directory); its
                      directory is the project, whose .deployed/ holds the deployment records
  --run-id ID         record the step under <work dir>/runs/ID for the controller to collect
  --start-at MS       bench: start at this time (ms since the epoch), agreed with the other node
  --suites LIST       test: these suites (api,routing,scaling,lmcache,faults) instead of the enabled ones
  --json              machine-readable output (status)
${KUBE_COMMANDS_USAGE}`;

async function main(): Promise<void> {
  const { values, positionals } = parseCli(USAGE, {
    node: { type: 'string' }, 'extra-vars': { type: 'string' }, 'run-id': { type: 'string' }, suites: { type: 'string' }, json: { type: 'boolean' },
    'start-at': { type: 'string' },
  });
  const command = positionals[0];
  if (!command) throw new Error(`no command given\n\n${USAGE}`);
  if (!values.node) throw new Error('--node NAME is required (the inventory hostname, e.g. vllm-baseline)');
  const extraVars = resolve(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const ref: NodeRef = { node: values.node, stateDir: join(dirname(extraVars), STATE_DIR) };
  // Validated for check and deploy, which act on it; the other steps only read where things are.
  const configured = (validate = false) => loadNode(ref.node, extraVars, { validate });
  // Teardown, cleanup and status also work with no configuration, or one without this node.
  const configuredIfAny = async (): Promise<LoadedNode | null> => (existsSync(extraVars) ? configured().catch(() => null) : null);
  const runId = values['run-id'];
  const progress = (line: string) => console.log(line);
  const label = `vllm-node ${command}${runId ? ` --run-id ${runId}` : ''}`;
  const anyConfig = await configuredIfAny();
  const kubeNode = anyConfig && anyConfig.vars.vllm_target !== 'local' ? anyConfig : null;
  // On Kubernetes the release also takes the cluster's lock (a Lease), for colleagues sharing the cluster.
  const lock = <T>(fn: () => Promise<T>) => withNodeLock(ref, label, async () => {
    if (!kubeNode || command === 'minikube-start') return fn();
    const { withReleaseLease } = await import('./lib/targets/kube/kube-node.js');
    return withReleaseLease({ ...kubeNode, topdir: dirname(extraVars) }, command, label, fn, (line) => console.error(line));
  });

  /** The run's folder on this node, its log start noted on the run's first step there. */
  const runDirFor = async (workDir: string, logsOf: string): Promise<string | null> => {
    if (!runId) return null;
    const dir = nodeRunDir(workDir, runId);
    await markRunStart(dir, join(logsOf, 'logs'));
    return dir;
  };

  // A Kubernetes node: the cluster and its Helm release hold what is deployed. Its modules are
  // loaded only here: they cost the local target's every call time.
  if (kubeNode) {
    const kube = command === 'check' || command === 'deploy' ? await configured(true) : kubeNode;
    const runDir = runId ? nodeRunDir(kube.spec.workDir, runId) : null;
    const { kubeNodeCommand } = await import('./lib/targets/kube/kube-target.js');
    const run = () => kubeNodeCommand(command, { ...kube, topdir: dirname(extraVars) }, runDir, values.json ?? false, progress);
    // What changes the release or the cluster takes the node's lock, as on the local target.
    if (await (KUBE_LOCKED.has(command) ? lock(run) : run())) return;
  }

  switch (command) {
    case 'check': {
      const { spec } = await configured(true);
      for (const l of await checkNode(spec)) console.log(l);
      return;
    }
    case 'deploy': {
      const { vars, node, spec } = await configured(true);
      await lock(async () => {
        const runDir = await runDirFor(spec.workDir, spec.workDir);
        const deploy = async () => {
          const started = performance.now();
          const stack = await LocalStack.deploy(spec, progress, {
            host: node.host, runId: runId ?? null, command: `vllm-node deploy${runId ? ` (run ${runId})` : ''}`,
            secretFiles: { apiKey: vars.vllm_api_key_file, hfToken: vars.vllm_hf_token_file ?? '' },
          });
          const engines = await stack.engines();
          return { router_url: stack.routerUrl, engines, deploy_seconds: (performance.now() - started) / 1000 };
        };
        if (!runDir) {
          await deploy();
          return;
        }
        // Loaded here only: every other step of every node would pay for the YAML library.
        const { stringify } = await import('yaml');
        await writeFileAtomic(join(runDir, 'config.yaml'), stringify({ node, vars }));
        await writeJsonAtomic(join(runDir, 'system.json'), await systemInfo());
        const result = await recordStep(runDir, 'deploy', deploy);
        await writeJsonAtomic(join(runDir, 'deploy.json'), result);
      });
      return;
    }
    case 'smoke': {
      await lock(async () => {
        const stack = await LocalStack.attach(ref);
        const configuredSpec = runId ? (await configured()).spec : null;
        const runDir = configuredSpec ? await runDirFor(configuredSpec.workDir, stack?.spec.workDir ?? configuredSpec.workDir) : null;
        const smoke = async () => {
          if (!stack) throw new Error(`node ${ref.node} has nothing deployed; run make vllm first`);
          const result = await quickTest(stack.routerUrl, stack.spec.engine.servedModelName, stack.spec.engine.env.VLLM_API_KEY);
          console.log(formatQuickTest(ref.node, result));
          if (runDir) await writeJsonAtomic(join(runDir, 'smoke.json'), result);
          if (!result.passed) throw new Error(`node ${ref.node}: the smoke test failed (see above); logs are in ${join(stack.spec.workDir, 'logs')}`);
        };
        await (runDir ? recordStep(runDir, 'smoke', smoke) : smoke());
      });
      return;
    }
    case 'snapshot': {
      if (!runId) throw new Error('snapshot needs --run-id');
      const { spec } = await configured();
      await lock(async () => {
        const stack = await LocalStack.attach(ref);
        const runDir = await runDirFor(spec.workDir, stack?.spec.workDir ?? spec.workDir) as string;
        if (!stack) {
          console.log(`${ref.node}: nothing deployed, so no metrics snapshot`);
          return;
        }
        // A failed snapshot is recorded in the run's verdict; the exit stays 0 so that
        // packing the results, which Ansible runs next, still happens.
        await recordStep(runDir, 'metrics', async () => {
          const snapshot = await takeSnapshot(await snapshotSources(stack));
          await writeJsonAtomic(join(runDir, 'metrics.json'), snapshot);
          console.log(`${ref.node}: metrics snapshot: ${snapshot.source === 'prometheus' ? `${snapshot.series.length} series from Prometheus, ` : ''}${snapshot.pages.filter((p) => p.error === null).length} /metrics pages${snapshot.problems.length > 0 ? ` (${snapshot.problems.join('; ')})` : ''}`);
        }).catch((err: Error) => console.error(`${ref.node}: no metrics snapshot: ${err.message}`));
      });
      return;
    }
    case 'bench': {
      const startAt = values['start-at'] === undefined ? undefined : Number(values['start-at']);
      if (startAt !== undefined && !Number.isSafeInteger(startAt)) throw new Error(`--start-at "${values['start-at']}" is not a time in ms since the epoch`);
      const { vars, spec } = await configured();
      const settings = benchSettings(vars);
      await lock(async () => {
        const stack = await LocalStack.attach(ref);
        const runDir = await runDirFor(spec.workDir, stack?.spec.workDir ?? spec.workDir);
        const bench = async () => {
          if (!stack) throw new Error(`node ${ref.node} has nothing deployed; run make vllm first`);
          const results = await runBenchmark({
            node: ref.node, runId: runId ?? `adhoc-${Date.now()}`, stack, model: stack.spec.engine.servedModelName,
            sessionKey: stack.spec.router?.sessionKey ?? 'x-user-id', apiKey: stack.spec.engine.env.VLLM_API_KEY, settings, startAt,
            outDir: join(runDir ?? join(stack.spec.workDir, 'bench-adhoc'), 'bench'), progressFile: progressPath(stack.spec.workDir), log: progress,
          });
          for (const r of results) console.log(benchLine(r));
          const empty = results.filter((r) => r.completed === 0);
          if (empty.length > 0) throw new Error(`node ${ref.node}: no request of ${empty.map((r) => r.workload).join(', ')} completed (${empty.map((r) => JSON.stringify(r.errors_by_kind)).join(', ')}); logs are in ${join(stack.spec.workDir, 'logs')}`);
        };
        await (runDir ? recordStep(runDir, 'benchmark', bench) : bench());
      });
      return;
    }
    case 'test': {
      // What the configuration promises is what the suites expect; the deployed stack is what they measure.
      const { vars, spec, apiKey } = await configured();
      const names = selectSuites(vars, values.suites);
      if (names.length === 0) {
        console.log(`${ref.node}: no suite is enabled (CONFIG_VLLM_TEST_*) and none was asked for (SUITES=); nothing to run`);
        return;
      }
      await lock(async () => {
        // The same suites on every target: only the stack handle differs.
        const kube = vars.vllm_target !== 'local'
          ? await (await import('./lib/targets/kube/kube-node.js')).attachKubeStack({ ...(await configured()), topdir: dirname(extraVars) }, progress)
          : null;
        const stack = kube ?? await LocalStack.attach(ref, progress);
        const runDir = await runDirFor(spec.workDir, (stack instanceof LocalStack ? stack.spec.workDir : null) ?? spec.workDir);
        const suites = async () => {
          if (!stack) throw new Error(`node ${ref.node} has nothing deployed; run make vllm first`);
          // Interrupted: loads stop and every perturbation is undone before exiting; a second signal exits at once.
          const abort = new AbortController();
          const onSignal = () => (abort.signal.aborted ? process.exit(130) : abort.abort());
          process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
          const started = performance.now();
          const run = await runSuites({
            stack, expect: localExpectations(spec, vars, apiKey), params: testParams(vars), suites: names,
            // Under Ansible the controller prints the tables; in a terminal, a line per case as it ends.
            runDir, progressFile: progressFile(spec.workDir), print: process.stdout.isTTY ? progress : undefined, signal: abort.signal,
          });
          const cases = run.results.flatMap((r) => r.cases);
          const count = (s: string) => cases.filter((c) => c.status === s).length;
          console.log(`${ref.node}: ${names.join(', ')}: ${cases.length} cases, ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (${((performance.now() - started) / 1000).toFixed(1)} s)`);
          if (abort.signal.aborted) throw new Error(`node ${ref.node}: the suites were interrupted; the stack was put back`);
          if (run.failed) {
            const failed = run.results.flatMap((r) => r.cases.filter((c) => c.status === 'failed').map((c) => `${r.suite} › ${c.name}`));
            throw new ExitError(`node ${ref.node}: ${failed.length} case(s) failed: ${failed.join(', ')}`, CASES_FAILED);
          }
        };
        try {
          await (runDir ? recordStep(runDir, 'test', suites) : suites());
        } finally {
          await kube?.close();
        }
      });
      return;
    }
    case 'pack': {
      if (!runId) throw new Error('pack needs --run-id');
      const { spec } = await configured();
      const deployed = await LocalStack.attach(ref);
      const logsOf = deployed?.spec.workDir ?? spec.workDir;
      const runDir = await runDirFor(spec.workDir, logsOf) as string;
      await copyRunLogs(runDir, join(logsOf, 'logs'));
      const tarball = join(spec.workDir, 'runs', `${runId}.tar.gz`);
      await execOk('tar', ['-czf', tarball, `--exclude=${LOG_START_FILE}`, '-C', runDir, '.']);
      console.log(tarball);
      return;
    }
    case 'teardown':
    case 'cleanup': {
      const config = await configuredIfAny();
      const lines = await lock(async () => {
        const record = await readRecord(ref);
        const stopped = await LocalStack.teardownNode(ref);
        // Pid files in the configured work dir that no record covers (an older harness, a lost record).
        if (config) stopped.push(...(await LocalStack.stopAll(config.spec)).filter((s) => !stopped.includes(s)));
        const out = [`${ref.node}: ${stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'}`];
        if (command === 'cleanup') {
          const dirs = [...new Set([record?.spec.workDir, config?.spec.workDir].filter((d): d is string => d !== undefined))];
          for (const d of dirs) await rm(d, { recursive: true, force: true });
          out.push(`${ref.node}: removed ${dirs.length > 0 ? dirs.join(', ') : 'nothing (no work dir known)'}`);
        }
        return out;
      });
      for (const l of lines) console.log(l);
      return;
    }
    case 'status': {
      const config = await configuredIfAny();
      const status = await localNodeStatus(ref, config?.spec ?? null, config?.vars.vllm_target ?? 'local');
      console.log(values.json ? JSON.stringify(status, null, 2) : formatFull({ generated_at: new Date().toISOString(), target: config?.vars.vllm_target ?? 'local', ab: config?.vars.vllm_baseline_and_dev ?? false, nodes: [status], last_run: null, hints: [] }));
      return;
    }
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

runMain(main);
