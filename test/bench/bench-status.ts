// How long status takes, as users run it after every step: deploys vllm-local
// (2 simulated engines, router, Prometheus when installed) in a throw-away
// project, then times `make vllm-status-simplified`, the tool alone, and the
// full status against `node -e 0` (Node's own start, the floor). Prints wall
// time and CPU time per call: on a shared machine the CPU time is the steadier
// figure. BENCH_RUNS (default 20) calls each; BENCH_AB=1 deploys +ab instead.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cleanUpOnSignal, percentile, table } from '../support/measure.js';
import { configureOnPorts, freePortBase, processesUnder, REPO, tempProject } from '../support/temp-project.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SPEC = process.env.BENCH_AB === '1' ? 'vllm-local+ab' : 'vllm-local';

/** Wall and CPU (user + system of the whole process tree, make -> node) milliseconds of one command. */
function timed(cwd: string, cmd: string, args: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // bash's `times` prints the CPU its children used, as "0m0.120s 0m0.020s" on its last line.
    const child = spawn('bash', ['-c', '"$@" >/dev/null || exit 1; times', 'bash', cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      const seconds = [...(out.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      if (code !== 0 || seconds.length !== 2) return reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${out}`));
      resolve({ wallMs, cpuMs: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000 });
    });
  });
}

async function main(): Promise<void> {
  const p = await tempProject();
  const cleanup = async () => {
    await p.make('vllm-teardown');
    for (const pid of await processesUnder(p.dir)) process.kill(pid, 'SIGKILL');
    await p.remove();
  };
  cleanUpOnSignal(cleanup);
  try {
    const base = await freePortBase(200);
    await configureOnPorts(p, SPEC, base, { VLLM_BENCHMARK_ENABLED: false });
    const deploy = await p.make('vllm');
    if (deploy.exitCode !== 0) throw new Error(`make vllm failed:\n${deploy.stdout}${deploy.stderr}`);
    const tool = join(REPO, 'dist', 'scripts', 'vllm-status.js');
    const cases: [string, string, string[]][] = [
      ['node -e 0 (floor)', process.execPath, ['-e', '0']],
      ['vllm-status.js --simplified', process.execPath, [tool, '--simplified']],
      ['vllm-status.js --simplified --json', process.execPath, [tool, '--simplified', '--json']],
      ['vllm-status.js (full)', process.execPath, [tool]],
      ['make vllm-status-simplified', 'make', ['vllm-status-simplified']],
    ];
    const rows: (string | number)[][] = [];
    let floor = 0;
    for (const [name, cmd, args] of cases) {
      await timed(p.dir, cmd, args); // warm the page cache
      const samples = [];
      for (let i = 0; i < RUNS; i++) samples.push(await timed(p.dir, cmd, args));
      const wall = samples.map((s) => s.wallMs);
      const cpu = samples.map((s) => s.cpuMs);
      if (floor === 0) floor = percentile(wall, 50);
      rows.push([name, RUNS, percentile(wall, 50), percentile(wall, 90), Math.max(...wall), percentile(cpu, 50), percentile(wall, 50) / floor]);
    }
    console.log(`status against ${SPEC} (router, ${SPEC.includes('+ab') ? 'two nodes' : 'one node'}), ${RUNS} calls each`);
    console.log(table(['command', 'runs', 'p50 ms', 'p90 ms', 'max ms', 'cpu p50 ms', 'x floor'], rows));
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
