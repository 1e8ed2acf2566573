// npm run bench:client — how many streamed requests per second the benchmark
// client sustains, and on how much CPU: simulators at --time-scale 0 answer at
// once, so the client (this process) and the simulators are all that is timed.
// Target: at least 2,000 streamed 32-token requests/s under one core.
// BENCH_SECONDS (default 10), BENCH_SIMS (default 2), BENCH_CONCURRENCY (default 64).
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { cleanUpOnSignal, cpuSeconds, table } from '../support/measure.js';
import type { RequestSample } from '../../scripts/lib/vocabulary/request-sample.js';
import { runServing } from '../../scripts/lib/bench/serving.js';
import { StreamClient } from '../../scripts/lib/bench/stream-client.js';
import { summarize } from '../../scripts/lib/vocabulary/bench-summary.js';
import type { WorkloadContext } from '../../scripts/lib/bench/workload.js';
import { ENGINE_SIM_MAIN, startChildServer, type ChildServer } from '../support/child-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIMS = Number(process.env.BENCH_SIMS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const TOKENS = 32;
const MODEL = 'facebook/opt-125m';

async function run(sims: ChildServer[], seconds: number): Promise<{ samples: RequestSample[]; wall: number; cpu: number; elu: number; simCpu: number }> {
  const clients = sims.map((s) => new StreamClient(s.url, { headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000 }));
  const samples: RequestSample[] = [];
  const t0 = performance.now();
  const endAt = t0 + seconds * 1000;
  const simCpu0 = await Promise.all(sims.map((s) => cpuSeconds(s.child.pid as number)));
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  await Promise.all(clients.map((client, i) => {
    let next = 0;
    const ctx: WorkloadContext = {
      client, model: MODEL, t0, endAt, repeat: 1, seed: 1 + i, sessionKey: 'x-user-id',
      nextId: () => ({ id: next++, warmup: false }), record: (s) => samples.push(s), lag: () => {},
    };
    return runServing(ctx, { requestRate: 0, burstiness: 1, maxConcurrency: Math.ceil(CONCURRENCY / sims.length), inputLen: 32, outputLen: TOKENS });
  }));
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const simCpu1 = await Promise.all(sims.map((s) => cpuSeconds(s.child.pid as number)));
  await Promise.all(clients.map((c) => c.close()));
  return { samples, wall, cpu: (used.user + used.system) / 1e6, elu, simCpu: simCpu1.reduce((a, x, k) => a + x - (simCpu0[k] as number), 0) };
}

async function main(): Promise<void> {
  const sims = await Promise.all(Array.from({ length: SIMS }, () => startChildServer(ENGINE_SIM_MAIN, ['--port', '0', '--time-scale', '0', '--max-num-seqs', '4096'])));
  cleanUpOnSignal(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });
  try {
    await run(sims, 1);
    const r = await run(sims, SECONDS);
    const s = summarize(r.samples, { ttft_ms: 0, tpot_ms: 0, e2el_ms: 0 });
    const perCore = s.completed / r.cpu;
    console.log(`benchmark client (undici, one handler per request) against ${SIMS} vllm-engine-sim --time-scale 0, ${CONCURRENCY} streams, ${TOKENS} tokens each, ${SECONDS} s; ${cpus().length} CPUs shared with the simulators`);
    console.log(table(['figure', 'value'], [
      ['streamed requests/s', Math.round(s.request_throughput)],
      ['output tokens/s', Math.round(s.output_throughput)],
      ['failed requests', s.failed],
      ['client CPU (cores)', Number((r.cpu / r.wall).toFixed(2))],
      ['client event loop busy', `${(r.elu * 100).toFixed(0)} %`],
      ['requests per client CPU-second (one-core capacity)', Math.round(perCore)],
      ['simulators CPU (cores)', Number((r.simCpu / r.wall).toFixed(2))],
      ['TTFT p50 / p99 (ms)', `${s.median_ttft_ms?.toFixed(2)} / ${s.p99_ttft_ms?.toFixed(2)}`],
    ]));
    console.log(`target: ≥ 2,000 requests/s while the client uses under one core: ${s.request_throughput >= 2000 && r.cpu / r.wall < 1 ? 'met' : 'NOT met'} here; its one-core capacity is ${Math.round(perCore)} requests/s`);
    console.log(JSON.stringify({ requests_per_s: s.request_throughput, client_cores: r.cpu / r.wall, event_loop_utilization: r.elu, requests_per_client_cpu_second: perCore, simulator_cores: r.simCpu / r.wall, failed: s.failed }));
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
  }
}

await main();
