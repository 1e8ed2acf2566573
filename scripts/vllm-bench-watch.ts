#!/usr/bin/env node
// make's wrapper of the benchmark's ansible-playbook: each node's benchmark
// progress while the command runs.
import { readFile } from 'node:fs/promises';
import { runMain } from './lib/cli.js';
import { progressLine, progressPath, type BenchProgress } from './lib/bench/progress.js';
import { watchCommand } from './lib/run-control/watch-command.js';

const USAGE = `usage: vllm-bench-watch [--extra-vars FILE] [--every SECONDS] -- COMMAND [ARG...]

Runs COMMAND with its output as it is, and every few seconds prints a line per node
that is benchmarking: elapsed time, requests done, errors, current p50 TTFT.
Exits with COMMAND's exit code. Nodes on declared hosts show their figures when
their step ends.`;

runMain(() => watchCommand(USAGE, {
  async read(workDir, since) {
    const p = await readFile(progressPath(workDir), 'utf8').then((text) => JSON.parse(text) as BenchProgress, () => null);
    // Only this command's benchmark. Done: the step's own result line, which Ansible prints as it ends, has the figures.
    if (!p || Date.parse(p.updated_at) < since || p.phase === 'waiting' || p.phase === 'done') return null;
    // A failed phase is said once.
    return { key: `${p.workload}/${p.repeat}/${p.phase}`, line: `  ⏱  ${progressLine(p)}`, quietAfterFirst: p.phase === 'failed' };
  },
}));
