// npm run bench:verdict — the comparison's honesty, measured as users run it:
// on the simulator, BENCH_REPS (default 20) repetitions of make vllm-benchmark
// + vllm-compare with identical baseline and dev (A/A, must be no-change in at
// least 19 of 20), then as many with dev's engines slowed by BENCH_SLOWDOWN
// (default 1.2, +20 % latency through /admin/config timeScale; must be a TTFT
// regression in at least 19 of 20). BENCH_DEFCONFIG (default vllm-local+ab),
// BENCH_DURATION (default: the defconfig's). Long: about a minute per repetition.
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { cleanUpOnSignal, table } from '../support/measure.js';
import type { Comparison } from '../../scripts/lib/compare/comparison.js';
import { freePortBase, REPO, tempProject, type TempProject } from '../support/temp-project.js';

const REPS = Number(process.env.BENCH_REPS ?? 20);
const SLOWDOWN = Number(process.env.BENCH_SLOWDOWN ?? 1.2);
const DEFCONFIG = process.env.BENCH_DEFCONFIG ?? 'vllm-local+ab';
const DURATION = process.env.BENCH_DURATION;

interface Rep {
  verdict: string;
  ttft: string;
  delta: number | null;
  ci: string;
  exit: number;
}

async function must(p: TempProject, ...args: string[]): Promise<void> {
  const out = await p.make(...args);
  if (out.exitCode !== 0) throw new Error(`make ${args.join(' ')} failed:\n${out.stdout}${out.stderr}`);
}

async function rep(p: TempProject): Promise<Rep> {
  await must(p, 'vllm-benchmark');
  const compare = await $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist', 'scripts', 'vllm-compare.js')}`;
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const c = JSON.parse(await readFile(join(p.dir, 'results', runId, 'compare.json'), 'utf8')) as Comparison;
  const m = c.metrics.find((x) => x.name === 'median_ttft_ms');
  return {
    verdict: c.verdict, ttft: m?.verdict ?? '-', delta: m?.delta_pct ?? null, exit: compare.exitCode ?? -1,
    ci: m?.ci_low_pct === null || m === undefined ? '-' : `[${m.ci_low_pct.toFixed(1)}, ${m.ci_high_pct?.toFixed(1)}]`,
  };
}

async function slow(port: number, timeScale: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/admin/config`, { method: 'POST', body: JSON.stringify({ timeScale }) });
  if (res.status !== 200) throw new Error(`POST /admin/config on ${port}: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const p = await tempProject();
  const cleanup = async () => {
    await p.make('vllm-teardown');
    await p.remove();
  };
  cleanUpOnSignal(cleanup);
  try {
    const base = await freePortBase(200);
    await must(p, `defconfig-${DEFCONFIG}`);
    await p.setConfig({ VLLM_API_PORT: base, VLLM_PROMETHEUS_PORT: base + 90, ...(DURATION ? { VLLM_BENCHMARK_DURATION: Number(DURATION) } : {}) });
    await must(p, 'olddefconfig');
    await must(p, 'vllm');
    const aa: Rep[] = [];
    for (let i = 0; i < REPS; i++) {
      aa.push(await rep(p));
      process.stderr.write(`A/A ${i + 1}/${REPS}: ${aa.at(-1)?.verdict} (median TTFT ${aa.at(-1)?.delta?.toFixed(1)} %)\n`);
    }
    for (const port of [base + 101, base + 102]) await slow(port, SLOWDOWN);
    const slowed: Rep[] = [];
    for (let i = 0; i < REPS; i++) {
      slowed.push(await rep(p));
      process.stderr.write(`slowed ${i + 1}/${REPS}: ${slowed.at(-1)?.verdict}, median TTFT ${slowed.at(-1)?.ttft} (${slowed.at(-1)?.delta?.toFixed(1)} %)\n`);
    }
    const rows = [...aa.map((r, i) => ['A/A', i + 1, r] as const), ...slowed.map((r, i) => [`dev ×${SLOWDOWN}`, i + 1, r] as const)]
      .map(([what, i, r]) => [`${what} #${i}`, r.verdict, r.ttft, r.delta === null ? '-' : `${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(1)} %`, r.ci, r.exit]);
    console.log(`make vllm-benchmark + vllm-compare on ${DEFCONFIG}${DURATION ? `, ${DURATION} s` : ''}: ${REPS} A/A repetitions, then ${REPS} with dev's engines at timeScale ${SLOWDOWN}`);
    console.log(table(['repetition', 'verdict', 'median TTFT', 'change', '95 % CI', 'exit'], rows));
    const aaOk = aa.filter((r) => r.verdict === 'no-change').length;
    const caught = slowed.filter((r) => r.ttft === 'regression').length;
    console.log(`A/A called no-change: ${aaOk}/${REPS} (target ≥ ${Math.ceil(REPS * 0.95)}); slowed dev called a TTFT regression: ${caught}/${REPS} (target ≥ ${Math.ceil(REPS * 0.95)})`);
    console.log(JSON.stringify({ reps: REPS, slowdown: SLOWDOWN, aa_no_change: aaOk, slowed_ttft_regression: caught }));
  } finally {
    await cleanup();
  }
}

await main();
