#!/usr/bin/env node
// make's way into Ansible. Runs ansible-playbook holding the lock of every
// node it works on (scripts/lib/deployment/node-lock.ts), so that no other
// command changes, perturbs or measures those nodes meanwhile: a second one is
// refused before it starts anything, naming this one and its pid. It picks the
// nodes from the configuration, from the deployment records, or both, so
// teardown finds what runs even when .config changed or is gone, and make vllm
// first stops deployed nodes the configuration no longer has.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fail, runMain } from './lib/cli.js';
import { thresholdsFrom } from './lib/compare/compare.js';
import { renderNodesInventory } from './lib/config/inventory.js';
import { STATE_DIR } from './lib/config/node-config.js';
import { acquireNodeLock, BUNDLE_PATH, listRecords } from './lib/deployment/index.js';
import { holderEnv, LOCK_HOLDER_ENV } from './lib/deployment/node-lock.js';
import { closingBlock } from './lib/report/closing-block.js';
import { formatLost, stoppedNode } from './lib/results/lost-node.js';
import { markLost } from './lib/results/run-store.js';
import { runOutcome } from './lib/run-control/run-outcome.js';
import { recordInterruptedRun, RUN_ID_FILE_ENV } from './lib/run-control/interrupted-run.js';
import { runInGroup, type GroupRun } from './lib/run-control/process-group.js';
import { loadAllNodes, resultsDir } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-playbook [--as "make TARGET"] [--nodes configured|deployed|all] [--replace-unconfigured] [--none-ok]
                     PLAYBOOK [ansible-playbook options...]

Runs ansible-playbook (in the project directory) holding the lock of every node it
works on; a command that holds one of them already makes this one stop at once.
  --as TEXT               what the lock says is running (default: "vllm-playbook PLAYBOOK")
  --nodes configured      the configuration's nodes: the inventory \`hosts\` (default)
  --nodes deployed        the nodes this project has deployed (.deployed/), whatever .config says now
  --nodes all             both
  --replace-unconfigured  first tear down deployed nodes the configuration no longer has (make vllm)
  --none-ok               no node to work on is fine (teardown); otherwise it is an error`;

interface NodeEntry { name: string; role: 'baseline' | 'dev'; host: string | null }

function parse(argv: string[]) {
  const opts = { as: '', nodes: 'configured', replaceUnconfigured: false, noneOk: false, playbook: '', rest: [] as string[] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--as') opts.as = argv[++i] ?? '';
    else if (a === '--nodes') opts.nodes = argv[++i] ?? '';
    else if (a === '--replace-unconfigured') opts.replaceUnconfigured = true;
    else if (a === '--none-ok') opts.noneOk = true;
    else break;
  }
  opts.playbook = argv[i] ?? '';
  opts.rest = argv.slice(i + 1);
  if (!opts.playbook || opts.playbook.startsWith('-')) fail(`no playbook given\n\n${USAGE}`);
  if (!['configured', 'deployed', 'all'].includes(opts.nodes)) fail(`--nodes must be configured, deployed or all, not "${opts.nodes}"\n\n${USAGE}`);
  return opts;
}

/** How long an interrupted run's processes get to stop (suites undo their faults) before they are killed. */
const STOP_GRACE_MS = 30_000;
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

let running: GroupRun | null = null;
let interrupted: NodeJS.Signals | null = null;
// ansible-playbook runs in a process group of its own (lib/run-control/process-group.ts):
// Ctrl-C, a TERM from make (kill of make, or of make's whole group) or a hang-up
// is passed to all of it once (its workers and the node steps they run), and
// this process waits until none of them is left before it records the run as
// interrupted and frees the locks: nothing of the run outlives the command.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    interrupted ??= sig;
    running?.signal(sig === 'SIGHUP' ? 'SIGTERM' : sig);
  });
}

/** Runs ansible-playbook with the terminal, in its own process group; its exit code once every process of it ended. */
async function ansible(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (interrupted) return SIGNAL_EXIT[interrupted] ?? 1;
  const group = runInGroup('ansible-playbook', args, {
    env,
    onSpawnError: (err) => process.stderr.write(`error: cannot run ansible-playbook (${err.message}); make deps installs ansible-core\n`),
  });
  running = group;
  if (interrupted) group.signal(interrupted === 'SIGHUP' ? 'SIGTERM' : interrupted);
  const code = await group.exited;
  // On an interruption the node steps may still be undoing what they did: wait for them, bounded.
  if (interrupted && (await group.drain(STOP_GRACE_MS))) {
    process.stderr.write(`some processes of the run did not stop within ${STOP_GRACE_MS / 1000} s of ${interrupted} and were killed\n`);
  }
  running = null;
  return interrupted ? SIGNAL_EXIT[interrupted] ?? code : code;
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  const project = resolve('.');
  const extraVars = join(project, 'extra_vars.yaml');
  const hostsFile = join(project, 'hosts');
  const hasConfig = existsSync(extraVars) && existsSync(hostsFile);
  if (!hasConfig && opts.nodes === 'configured') {
    throw new Error('there is no configuration (extra_vars.yaml, hosts): run make defconfig-vllm-local (or another defconfig; make help lists them) first');
  }
  const config = hasConfig ? await loadAllNodes(extraVars, { validate: false }) : null;
  const configured: NodeEntry[] = config?.nodes.map(({ node }) => ({ name: node.name, role: node.role, host: node.host })) ?? [];
  const stateDir = join(project, STATE_DIR);
  const recorded: NodeEntry[] = (await listRecords(stateDir)).map((r) => ({ name: r.node, role: r.role, host: r.host }));
  // On Kubernetes the cluster, not .deployed/, holds what is deployed: the configured releases are
  // what teardown must reach (a node step on a release that is not installed says so and does nothing).
  const inCluster = config && config.vars.vllm_target !== 'local' ? configured.filter((c) => !recorded.some((r) => r.name === c.name)) : [];
  const deployed: NodeEntry[] = [...recorded, ...inCluster];
  const stale = opts.replaceUnconfigured ? deployed.filter((d) => !configured.some((c) => c.name === d.name && c.host === d.host)) : [];
  const targets = opts.nodes === 'configured' ? configured
    : opts.nodes === 'deployed' ? deployed
      : [...deployed, ...configured.filter((c) => !deployed.some((d) => d.name === c.name))];
  if (targets.length === 0) {
    if (opts.noneOk) {
      console.log('nothing is deployed (no record in .deployed/): nothing to do');
      return;
    }
    throw new Error('nothing is deployed (no record in .deployed/): run make vllm first');
  }

  const command = opts.as || `vllm-playbook ${opts.playbook}`;
  const names = [...new Set([...targets, ...stale].map((n) => n.name))].sort();
  const releases: (() => Promise<void>)[] = [];
  const tmp = await mkdtemp(join(tmpdir(), 'vllm-playbook-'));
  let code = 0;
  try {
    for (const node of names) releases.push(await acquireNodeLock({ node, stateDir }, command));
    // The hash of the node tools' bundle (built by make when declared hosts are configured), which
    // every node-tool call on a declared host names (vllm_common).
    const bundleVersion = (await readFile(join(project, `${BUNDLE_PATH}.sha256`), 'utf8').catch(() => '')).trim();
    const common = [...(hasConfig ? [`--extra-vars=@${extraVars}`] : []), `--extra-vars=vllm_topdir=${project}`,
      ...(bundleVersion ? [`--extra-vars=vllm_bundle_version=${bundleVersion}`] : [])];
    const inventoryOf = async (nodes: NodeEntry[], name: string) => {
      const file = join(tmp, name);
      await writeFile(file, renderNodesInventory(nodes, `# ${name}: written by vllm-playbook for one run`));
      return file;
    };
    const runIdFile = join(tmp, 'run-id');
    const env = { ...process.env, [RUN_ID_FILE_ENV]: runIdFile, [LOCK_HOLDER_ENV]: holderEnv() };
    if (stale.length > 0) {
      console.log(`${stale.map((n) => n.name).join(', ')}: deployed but not in the configuration any more; stopping first`);
      code = await ansible(['-i', await inventoryOf(stale, 'unconfigured'), ...common, join(project, 'playbooks', 'vllm.yml'), '--tags', 'teardown'], env);
    }
    if (code === 0) {
      const inventory = opts.nodes === 'configured' ? hostsFile : await inventoryOf(targets, opts.nodes);
      code = await ansible(['-i', inventory, ...common, opts.playbook, ...opts.rest], env);
    }
    if (interrupted) {
      // Still holding the locks: the record is complete before another command may start.
      const run = config ? await recordInterruptedRun({
        project, extraVars, resultsDir: resultsDir(config), runIdFile, signal: interrupted,
        nodes: config.nodes.map(({ node, spec }) => ({ name: node.name, host: node.host, workDir: spec.workDir })),
      }).catch((err: Error) => {
        process.stderr.write(`error: could not record the interrupted run: ${err.message}\n`);
        return null;
      }) : null;
      process.stderr.write(`\n⏹️  ${command}: interrupted (${interrupted}); every process of it has ended and its locks are free\n`);
      if (run) process.stderr.write(`   run ${run.run_id} recorded as interrupted, with what it collected\n`);
    }
    const runId = (await readFile(runIdFile, 'utf8').catch(() => '')).trim();
    if (config && runId !== '' && code !== 0 && !interrupted) {
      // Nodes Ansible stopped without collecting (all of a play's nodes lost) are failed, not left incomplete.
      for (const { node, spec } of config.nodes) {
        const lost = stoppedNode(join(spec.workDir, 'logs'));
        if (await markLost(resultsDir(config), runId, node.name, lost).catch(() => false)) process.stderr.write(`${formatLost(node.name, lost).join('\n')}\n`);
      }
    }
    if (config && runId !== '') {
      // One closing block per run: what a person reads last.
      await runOutcome(resultsDir(config), runId, command, thresholdsFrom(config.vars))
        .then((o) => console.log(closingBlock(o).join('\n')))
        .catch((err: Error) => process.stderr.write(`error: could not summarize run ${runId}: ${err.message}\n`));
    }
  } finally {
    for (const release of releases.reverse()) await release();
    await rm(tmp, { recursive: true, force: true });
  }
  process.exitCode = code;
}

runMain(main);
