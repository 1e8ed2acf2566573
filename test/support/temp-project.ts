// A throw-away copy of the project for end-to-end tests: sources are
// symlinked, while .config, extra_vars.yaml, hosts, work/ and results/ are its
// own, so a test never touches the developer's configuration or stack.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $, type ProcessOutput } from 'zx';
import { portsInUse } from '../../scripts/lib/targets/local/port-check.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

// What a project directory consists of, minus what each run generates.
const GENERATED = new Set(['.config', '.config.old', 'extra_vars.yaml', 'extra_vars.json', 'hosts', 'work', 'results', '.bringup.done', '.deployed', '.git']);

/**
 * The temp project shares this repository's node_modules through a symlink: with a lock
 * newer than the installed tree, its make would run npm ci there, emptying node_modules
 * under every test running at the time. Refused instead, with the fix.
 */
async function refuseStaleDependencies(): Promise<void> {
  const lock = await stat(join(REPO, 'package-lock.json'));
  const installed = await stat(join(REPO, 'node_modules', '.package-lock.json')).catch(() => null);
  if (installed === null || installed.mtimeMs < lock.mtimeMs) {
    throw new Error(`${REPO}node_modules is older than package-lock.json: run make deps there before the end-to-end tests`);
  }
}

export interface TempProject {
  dir: string;
  make(...args: string[]): Promise<ProcessOutput>;
  /** make with these environment variables added (ANSIBLE_STDOUT_CALLBACK=default for Ansible's own recap). */
  makeWith(env: Record<string, string>, ...args: string[]): Promise<ProcessOutput>;
  setConfig(symbols: Record<string, string | number | boolean>): Promise<void>;
  remove(): Promise<void>;
}

/** `projectEnv`: added to make's environment (e.g. how Ansible reaches SSH test hosts). */
export async function tempProject(projectEnv: Record<string, string> = {}): Promise<TempProject> {
  await refuseStaleDependencies();
  const dir = await mkdtemp(join(tmpdir(), 'vllm-e2e-'));
  for (const entry of await readdir(REPO)) {
    if (GENERATED.has(entry) || entry.startsWith('.build-')) continue;
    await symlink(join(REPO, entry), join(dir, entry));
  }
  // As a user's shell runs it: under `make test` the inherited MAKELEVEL and MAKEFLAGS would make it a
  // sub-make, which prints "Entering directory" lines a user never sees.
  const { MAKELEVEL: _level, MAKEFLAGS: _flags, MFLAGS: _mflags, ...userEnv } = process.env;
  const makeWith = (env: Record<string, string>, ...args: string[]) => $({ cwd: dir, nothrow: true, quiet: true, env: { ...userEnv, CI: 'true', ...projectEnv, ...env } })`make ${args}`;
  return {
    dir,
    make: (...args) => makeWith({}, ...args),
    makeWith,
    async setConfig(symbols) {
      const path = join(dir, '.config');
      let text = await readFile(path, 'utf8');
      for (const [name, value] of Object.entries(symbols)) {
        const line = typeof value === 'boolean' ? (value ? `CONFIG_${name}=y` : `# CONFIG_${name} is not set`)
          : typeof value === 'number' ? `CONFIG_${name}=${value}` : `CONFIG_${name}="${value}"`;
        const re = new RegExp(`^(CONFIG_${name}=.*|# CONFIG_${name} is not set)$`, 'm');
        text = re.test(text) ? text.replace(re, line) : `${text}${line}\n`;
      }
      await writeFile(path, text);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * `make defconfig-SPEC` on the project's own ports (base, base + 90 for
 * Prometheus), so that a test never meets a stack a developer runs; `extra`
 * symbols are set too (e.g. to switch off steps a test is not about).
 */
export async function configureOnPorts(p: TempProject, spec: string, base: number, extra: Record<string, string | number | boolean> = {}): Promise<void> {
  const out = await p.make(`defconfig-${spec}`);
  if (out.exitCode !== 0) throw new Error(`make defconfig-${spec} failed:\n${out.stdout}${out.stderr}`);
  // Prometheus's port only where observability is on (the option exists only then).
  const observed = /^CONFIG_VLLM_OBSERVABILITY_ENABLED=y$/m.test(await readFile(join(p.dir, '.config'), 'utf8'));
  await p.setConfig({ VLLM_API_PORT: base, ...(observed ? { VLLM_PROMETHEUS_PORT: base + 90 } : {}), ...extra });
  // As after a hand edit: make brings extra_vars.yaml up to date (refusing a setting that did not survive).
  const old = await p.make('extra_vars.yaml');
  if (old.exitCode !== 0) throw new Error(`make extra_vars.yaml after defconfig-${spec} and ${Object.keys(extra).length + 2} edits failed:\n${old.stdout}${old.stderr}`);
}

// Test ports stay below Linux's ephemeral range (32768 and up), where client
// connections of heavy loads would take them, and each block of 100 is
// reserved across processes (a file naming the holder's pid, reclaimed once it
// is gone), so that tests running at once never pick the same ports.
const PORT_BLOCKS = { first: 20_000, count: 127, size: 100 };
const RESERVATIONS = join(tmpdir(), 'vllm-test-ports');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves the block for this process; false when a live process holds it. */
async function reserveBlock(base: number): Promise<boolean> {
  const file = join(RESERVATIONS, String(base));
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(file, 'utf8').catch(() => ''));
      if (holder === process.pid || (Number.isInteger(holder) && holder > 0 && alive(holder))) return false;
      await rm(file, { force: true });
    }
  }
  return false;
}

/** A base port with `span` free ports above it, reserved for this test process. */
export async function freePortBase(span: number): Promise<number> {
  await mkdir(RESERVATIONS, { recursive: true });
  const blocks = Math.ceil(span / PORT_BLOCKS.size);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = PORT_BLOCKS.first + Math.floor(Math.random() * (PORT_BLOCKS.count - blocks + 1)) * PORT_BLOCKS.size;
    const reserved: number[] = [];
    for (let b = 0; b < blocks; b++) {
      if (!(await reserveBlock(base + b * PORT_BLOCKS.size))) break;
      reserved.push(base + b * PORT_BLOCKS.size);
    }
    const ports = Array.from({ length: span }, (_, i) => base + i);
    if (reserved.length === blocks && (await portsInUse(ports)).length === 0) return base;
    await Promise.all(reserved.map((r) => rm(join(RESERVATIONS, String(r)), { force: true })));
  }
  throw new Error('no free port range found for the end-to-end test');
}

/** Pids of live processes whose command line mentions the path. */
export async function processesUnder(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(path) && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
