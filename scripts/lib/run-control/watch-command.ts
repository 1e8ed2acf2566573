// Runs a command (make passes ansible-playbook) with this terminal and, while
// it runs, prints the live progress the nodes of this machine write: Ansible
// shows a step's output only when the step has ended, and a suite or a
// benchmark step lasts minutes. vllm-watch (suites) and vllm-bench-watch
// (benchmark) differ only in which progress file they read and how they say it.
import { spawn } from 'node:child_process';
import { parseCli } from '../cli.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes } from '../stack/load-node.js';

/** What one node is doing now, as its progress file says. */
export interface ProgressView {
  /** A node's progress written since `since` (ms), or null when there is nothing of this command's to show. */
  read(workDir: string, since: number): Promise<{ key: string; line: string; quietAfterFirst?: boolean } | null>;
}

/**
 * Parses `[--extra-vars FILE] [--every S] -- COMMAND [ARG...]`, runs COMMAND and exits
 * with its exit code, printing a node's line when its key changes and at most every
 * --every seconds otherwise (once only, for a key marked quietAfterFirst).
 */
export async function watchCommand(usage: string, view: ProgressView): Promise<never> {
  const split = process.argv.indexOf('--');
  const { values } = parseCli(usage, { 'extra-vars': { type: 'string' }, every: { type: 'string' } }, process.argv.slice(2, split < 0 ? undefined : split));
  const command = split < 0 ? [] : process.argv.slice(split + 1);
  const [program, ...args] = command;
  if (program === undefined) throw new Error(`no command given after --\n\n${usage}`);
  const every = Number(values.every ?? 5) * 1000;
  if (!(every > 0)) throw new Error(`--every "${values.every}" is not a number of seconds above 0`);
  // The configuration may not exist yet (make vllm builds it first); then there is nothing to watch.
  // Nodes on declared hosts show their figures when their step ends.
  const nodes = await loadAllNodes(values['extra-vars'] ?? DEFAULT_EXTRA_VARS).then((c) => c.nodes.filter((n) => n.node.host === null), () => []);
  const since = Date.now();
  const shown = new Map<string, { key: string; at: number }>();
  const poll = () => {
    void Promise.all(nodes.map(async ({ node, spec }) => {
      const now = await view.read(spec.workDir, since);
      if (now === null) return;
      const last = shown.get(node.name);
      if (last && last.key === now.key && (Date.now() - last.at < every || now.quietAfterFirst)) return;
      shown.set(node.name, { key: now.key, at: Date.now() });
      process.stdout.write(`${now.line}\n`);
    }));
  };
  const timer = setInterval(poll, 500);
  const child = spawn(program, args, { stdio: 'inherit' });
  // The terminal's Ctrl-C reaches the command too (same process group); a TERM sent to us alone is passed on.
  process.on('SIGINT', () => {}).on('SIGTERM', (sig) => child.kill(sig));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${program}: ${err.message}`)));
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 + 2 : 1)));
  });
  clearInterval(timer);
  process.exit(code);
}
