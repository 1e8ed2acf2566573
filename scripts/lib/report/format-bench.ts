// Benchmark results in the terminal: one line per workload after a run, and
// the full figure table of `make vllm-results`.
import type { BenchResult } from '../vocabulary/bench-result.js';

const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)} ms`);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);

export function benchLine(r: BenchResult): string {
  const errors = Object.entries(r.errors_by_kind).map(([k, n]) => `${k} ${n}`).join(', ');
  return `${r.node}: ${r.workload}: ${r.completed} completed, ${r.failed} failed${errors ? ` (${errors})` : ''} in ${r.duration.toFixed(1)} s; `
    + `${r.request_throughput.toFixed(1)} req/s, ${r.output_throughput.toFixed(0)} output tok/s; TTFT p50 ${ms(r.median_ttft_ms)} p99 ${ms(r.p99_ttft_ms)}; `
    + `TPOT p50 ${ms(r.median_tpot_ms)}; prefix cache hits ${pct(r.prefix_cache_hit_rate)}${r.offload_hit_rate !== null ? `, offload hits ${pct(r.offload_hit_rate)}` : ''}`
    + `; client ${r.client.cores.toFixed(2)} cores`;
}

/** Every figure of a benchmark result, one per line, for the terminal. */
export function benchFigures(r: BenchResult): string[] {
  const lines = [
    `${r.workload} (${r.run_id}, ${r.date}): ${r.completed} completed, ${r.failed} failed, ${r.warmup_requests} warm-up, ${r.duration.toFixed(1)} s`,
    `  throughput   ${r.request_throughput.toFixed(2)} req/s, goodput ${r.request_goodput.toFixed(2)} req/s, input ${r.input_throughput.toFixed(0)} tok/s, output ${r.output_throughput.toFixed(0)} tok/s, total ${r.total_token_throughput.toFixed(0)} tok/s`,
  ];
  for (const m of ['ttft', 'tpot', 'itl', 'e2el'] as const) {
    const f = (s: string) => ms((r as unknown as Record<string, number | null>)[`${s}_${m}_ms`] ?? null);
    lines.push(`  ${m.toUpperCase().padEnd(11)} mean ${f('mean')}, median ${f('median')}, std ${f('std')}, p90 ${f('p90')}, p95 ${f('p95')}, p99 ${f('p99')}`);
  }
  lines.push(`  errors      ${r.failed === 0 ? 'none' : Object.entries(r.errors_by_kind).map(([k, n]) => `${k} ${n}`).join(', ')} (error rate ${pct(r.error_rate)})`);
  lines.push(`  cache       prefix hits ${pct(r.prefix_cache_hit_rate)} of ${r.prefix_cache_queries ?? '-'} prompt tokens${r.offload_hit_rate !== null ? `, offload hits ${pct(r.offload_hit_rate)} of ${r.offload_queries} looked up` : ''}`);
  lines.push(`  engines     ${r.engines.map((e) => `${e.id} ${e.requests ?? '-'}`).join(', ')} requests`);
  lines.push(`  client      ${r.client.cores.toFixed(2)} cores, event loop ${(r.client.event_loop_utilization * 100).toFixed(0)} % busy${r.client.saturated ? ' (SATURATED)' : ''}`);
  for (const w of r.warnings) lines.push(`  warning     ${w}`);
  return lines;
}
