// A results tree made up from synthetic samples: results/<run-id>/run.json and
// a bench/ folder per node, as a benchmark run leaves them, for tests of the
// report and the results views without running a stack.
import { join } from 'node:path';
import type { BenchResult } from '../../scripts/lib/vocabulary/bench-result.js';
import type { RequestSample } from '../../scripts/lib/vocabulary/request-sample.js';
import { summarize } from '../../scripts/lib/vocabulary/bench-summary.js';
import { writeFileAtomic, writeJsonAtomic } from '../../scripts/lib/atomic-write.js';
import { startRun } from '../../scripts/lib/results/run-store.js';
import { syntheticSamples, type SyntheticRun } from './synthetic-samples.js';

const NO_SLO = { ttft_ms: 0, tpot_ms: 0, e2el_ms: 0 };

export function syntheticResult(node: string, runId: string, samples: RequestSample[]): BenchResult {
  const engines = ['sim-0', 'sim-1'].map((id, i) => ({
    id: `engine-${i}`, url: `http://127.0.0.1:${8001 + i}`, requests: samples.filter((s) => s.engine === id && !s.warmup).length,
    prompt_tokens: 1000, generation_tokens: 100, prefix_cache_queries: 1000, prefix_cache_hits: 800, offload_queries: null, offload_hits: null,
  }));
  return {
    workload: 'multi_round_qa', node, run_id: runId, date: '20261130-120000', started_at: '2026-11-30T12:00:00.000Z',
    backend: 'openai-chat', model_id: 'facebook/opt-125m', endpoint: 'http://127.0.0.1:8000',
    params: { duration_s: 20, warmup_requests: 0, repeats: 1 }, slo: NO_SLO, ...summarize(samples, NO_SLO),
    prefix_cache_queries: 2000, prefix_cache_hits: 1600, prefix_cache_hit_rate: 0.8, offload_queries: null, offload_hits: null, offload_hit_rate: null,
    engines, requests_per_engine: { 'sim-0': 1, 'sim-1': 1 },
    client: { cpu_seconds: 1, cores: 0.05, event_loop_utilization: 0.05, send_lag_p99_ms: null, saturated: false },
    warnings: [], samples_file: 'multi_round_qa.samples.jsonl',
  };
}

/** A run with a synthetic benchmark on each node given; returns its run id. */
export async function writeSyntheticRun(resultsDir: string, nodes: Record<string, SyntheticRun>): Promise<string> {
  const run = await startRun(resultsDir, { configHash: 'synthetic', gitRevision: 'synthetic', target: 'local', nodes: Object.keys(nodes) });
  for (const [node, spec] of Object.entries(nodes)) {
    const samples = syntheticSamples(spec);
    const dir = join(resultsDir, run.run_id, node, 'bench');
    await writeFileAtomic(join(dir, 'multi_round_qa.samples.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    await writeJsonAtomic(join(dir, 'multi_round_qa.json'), syntheticResult(node, run.run_id, samples));
  }
  return run.run_id;
}
