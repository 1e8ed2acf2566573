#!/usr/bin/env node
// Runs a command (make passes ansible-playbook) and, while it runs, shows each
// node's benchmark progress: Ansible prints a step's output only when the
// step ends, and a benchmark step lasts as long as the benchmark.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseCli, runMain } from './lib/cli.js';
import { progressLine, progressPath, type BenchProgress } from './lib/bench/progress.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-bench-watch [--extra-vars FILE] [--every SECONDS] -- COMMAND [ARG...]

Runs COMMAND with its output as it is, and every few seconds prints a line per node
that is benchmarking: elapsed time, requests done, errors, current p50 TTFT.
Exits with COMMAND's exit code. Nodes on declared hosts show their figures when
their step ends.`;

async function readProgress(file: string): Promise<BenchProgress | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as BenchProgress;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const split = process.argv.indexOf('--');
  const { values } = parseCli(USAGE, { 'extra-vars': { type: 'string' }, every: { type: 'string' } }, process.argv.slice(2, split < 0 ? undefined : split));
  const command = split < 0 ? [] : process.argv.slice(split + 1);
  if (command.length === 0) throw new Error(`no command given after --\n\n${USAGE}`);
  const every = Number(values.every ?? 5) * 1000;
  if (!(every > 0)) throw new Error(`--every "${values.every}" is not a number of seconds above 0`);
  const config = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS);
  const watched = config.nodes.filter((n) => n.node.host === null).map((n) => ({ file: progressPath(n.spec.workDir), shown: '', shownAt: 0 }));
  const since = new Date().toISOString();

  const child = spawn(command[0] as string, command.slice(1), { stdio: 'inherit' });
  // Ctrl-C reaches the command too (same process group); a TERM sent to us alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const timer = setInterval(async () => {
    for (const w of watched) {
      const p = await readProgress(w.file);
      // Only this command's benchmark, and a line when its phase changes or every few seconds.
      // Done: the step's own result line, which Ansible prints as it ends, has the figures.
      if (!p || p.updated_at < since || p.phase === 'waiting' || p.phase === 'done') continue;
      const key = `${p.workload}/${p.repeat}/${p.phase}`;
      const now = Date.now();
      if (key === w.shown && (now - w.shownAt < every || p.phase === 'failed')) continue;
      w.shown = key;
      w.shownAt = now;
      process.stdout.write(`  ⏱  ${progressLine(p)}\n`);
    }
  }, 1000);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  clearInterval(timer);
  process.exit(code);
}

runMain(main);
