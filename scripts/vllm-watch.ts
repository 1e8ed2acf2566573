#!/usr/bin/env node
// Runs a command (make runs ansible-playbook through it) and, while it
// runs, prints the live progress of the test suites on the nodes of this
// machine: Ansible shows a node's output only when its step has ended.
import { spawn } from 'node:child_process';
import { parseCli, runMain } from './lib/cli.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes } from './lib/stack/load-node.js';
import { formatProgress, readProgress } from './lib/suites/progress.js';

const USAGE = `usage: vllm-watch [--extra-vars FILE] [--every S] -- COMMAND [ARGS...]

Runs COMMAND with this terminal and exits with its exit code. Meanwhile,
whenever a node of this machine (not a declared host) is running suites, it
prints what runs there: suite, case, seconds, requests sent; a line when the
case changes, and at most every --every seconds (default 5) otherwise.`;

async function main(): Promise<void> {
  const split = process.argv.indexOf('--');
  if (split < 0 || split === process.argv.length - 1) throw new Error(`no command given after --\n\n${USAGE}`);
  const { values } = parseCli(USAGE, { 'extra-vars': { type: 'string' }, every: { type: 'string' } }, process.argv.slice(2, split));
  const every = Number(values.every ?? 5) * 1000;
  if (!(every > 0)) throw new Error(`--every ${values.every}: expected a number of seconds above 0`);
  const [command, ...args] = process.argv.slice(split + 1) as [string, ...string[]];
  // The configuration may not exist yet (make vllm builds it first); then there is nothing to watch.
  const nodes = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS).then((c) => c.nodes.filter((n) => n.node.host === null), () => []);
  const since = Date.now();
  const shown = new Map<string, { key: string; at: number }>();
  const poll = () => {
    void Promise.all(nodes.map(async ({ node, spec }) => {
      const p = await readProgress(spec.workDir);
      // Only this command's run, and only while a case runs: Ansible prints the rest.
      if (!p || p.done || Date.parse(p.updated_at) < since || p.suite === null) return;
      const key = `${p.suite}/${p.case ?? ''}`;
      const last = shown.get(node.name);
      if (last && last.key === key && Date.now() - last.at < every) return;
      shown.set(node.name, { key, at: Date.now() });
      process.stdout.write(`  … ${formatProgress(p)}\n`);
    }));
  };
  const timer = setInterval(poll, 500);
  const child = spawn(command, args, { stdio: 'inherit' });
  // The terminal's Ctrl-C reaches the command too; the watcher waits for it to finish.
  const ignore = () => {};
  process.on('SIGINT', ignore).on('SIGTERM', (sig) => child.kill(sig));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`)));
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 + 2 : 1)));
  });
  clearInterval(timer);
  process.exit(code);
}

runMain(main);
