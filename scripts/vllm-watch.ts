#!/usr/bin/env node
// make's wrapper of the suites' ansible-playbook: the live progress of the
// test suites on the nodes of this machine while the command runs.
import { runMain } from './lib/cli.js';
import { watchCommand } from './lib/run-control/watch-command.js';
import { formatProgress, readProgress } from './lib/suites/progress.js';

const USAGE = `usage: vllm-watch [--extra-vars FILE] [--every S] -- COMMAND [ARGS...]

Runs COMMAND with this terminal and exits with its exit code. Meanwhile,
whenever a node of this machine (not a declared host) is running suites, it
prints what runs there: suite, case, seconds, requests sent; a line when the
case changes, and at most every --every seconds (default 5) otherwise.`;

runMain(() => watchCommand(USAGE, {
  async read(workDir, since) {
    const p = await readProgress(workDir);
    // Only this command's run, and only while a case runs: Ansible prints the rest.
    if (!p || p.done || Date.parse(p.updated_at) < since || p.suite === null) return null;
    return { key: `${p.suite}/${p.case ?? ''}`, line: `  … ${formatProgress(p)}` };
  },
}));
