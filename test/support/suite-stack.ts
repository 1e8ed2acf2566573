// A real local stack (simulated engines + router on loopback) in a temp
// work dir, for tests of LocalStack and of the suites, with the node's
// expectations beside it so that a test can make the configuration and the
// live stack disagree on purpose.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localExpectations, runSuites, type NodeExpectations, type SuiteName, type SuiteResult, type TestParams } from '../../scripts/lib/suites/index.js';
import { LocalStack } from '../../scripts/lib/targets/local/local-stack.js';
import { nodeLayout, routerDynamicConfig } from '../../scripts/lib/targets/local/process-commands.js';
import { writeJsonAtomic } from '../../scripts/lib/atomic-write.js';
import type { NodePlan } from '../../scripts/lib/vocabulary/node-plan.js';
import { nodePlan, type StackConfigVars } from '../../scripts/lib/config/node-plan.js';
import type { StackHandle } from '../../scripts/lib/stack/stack-handle.js';
import type { SuiteContext } from '../../scripts/lib/suites/context.js';
import { SuiteHttp } from '../../scripts/lib/suites/http.js';
import { Progress } from '../../scripts/lib/suites/progress.js';
import { freePortBase } from './temp-project.js';
import { NODE_PORT_STRIDE } from '../../scripts/lib/config/node-config.js';

export interface StackOptions {
  routingLogic?: string;
  replicas?: number;
  maxReplicas?: number;
  maxNumSeqs?: number;
  kvBlocks?: number;
  lmcache?: boolean;
  requestTimeout?: number;
  maxConcurrency?: number;
  /** The router's --outlier-consecutive-5xx; default 0 (off), the router's own default. */
  outlier5xx?: number;
  /** LoRA adapters (CONFIG_VLLM_LORA_ADAPTERS), runtime updating on; absent: LoRA off. */
  loraAdapters?: string;
  /** Disaggregated prefill: this many prefill and decode engines (replicas is their sum), KV pushed or pulled. */
  pd?: { prefill: number; decode: number; routingLogic: 'disaggregated_prefill' | 'disaggregated_prefill_orchestrated' };
  /** How long a graceful stop may drain before the engine is killed; default the configuration's. */
  drainTimeoutMs?: number;
}

export interface TestStack {
  stack: LocalStack;
  spec: NodePlan;
  expect: NodeExpectations;
  stop(): Promise<void>;
}

/** Test parameters: the defaults of Kconfig.tests. */
export const PARAMS: TestParams = { loadRate: 40, caseSeconds: 2, tolerance: 0.15 };

export async function testStack(o: StackOptions = {}): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), 'suite-stack-'));
  const maxReplicas = o.maxReplicas ?? 4;
  // A disaggregating node's KV side channels sit half a node stride above its engines.
  const base = await freePortBase(o.pd ? 1 + NODE_PORT_STRIDE / 2 + maxReplicas : maxReplicas + 1);
  const vars: StackConfigVars & { vllm_target: 'local' } = {
    vllm_target: 'local', vllm_engine: 'sim', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: o.replicas ?? 2,
    vllm_max_model_len: 2048, vllm_max_num_seqs: o.maxNumSeqs ?? 16, vllm_enable_prefix_caching: true, vllm_enable_chunked_prefill: false,
    vllm_use_cpu_inference: true, vllm_sim_prefill_time_per_token_us: 200, vllm_sim_inter_token_latency_us: 10_000,
    vllm_sim_kv_blocks: o.kvBlocks ?? 4096, vllm_sim_block_size: 16, vllm_sim_load_factor_pct: 150, vllm_sim_seed: 42, vllm_sim_kv_transfer_tokens_per_sec: 100_000,
    vllm_sim_offload_time_per_token_us: 20, vllm_lmcache_cpu_buffer_size: 4, vllm_router_enabled: true,
    vllm_router_session_key: 'x-user-id', vllm_router_engine_stats_interval: 1, vllm_router_request_stats_window: 60,
    vllm_router_request_timeout: o.requestTimeout ?? 3, vllm_router_max_concurrency: o.maxConcurrency ?? 64, vllm_router_outlier_consecutive_5xx: o.outlier5xx ?? 0,
    vllm_observability_enabled: false, vllm_autoscaling_enabled: true, vllm_autoscaling_max_replicas: maxReplicas,
    ...(o.loraAdapters ? { vllm_lora_enabled: true, vllm_lora_adapters: o.loraAdapters, vllm_lora_max_loras: 1, vllm_lora_runtime_updating: true, vllm_sim_lora_swap_time_ms: 5 } : {}),
  };
  const spec = nodePlan(vars, {
    name: 'vllm-baseline', role: 'baseline', host: null, workDir: join(dir, 'work'), stateDir: join(dir, 'state'), routerPort: base, enginePortBase: base + 1, prometheusPort: 0,
    routerImpl: 'builtin', routingLogic: o.routingLogic ?? 'prefixaware', lmcacheEnabled: o.lmcache ?? false, extraEngineArgs: [],
    pd: o.pd ?? null,
  });
  if (o.drainTimeoutMs !== undefined) spec.engine.drainTimeoutMs = o.drainTimeoutMs;
  let stack: LocalStack;
  try {
    stack = await LocalStack.deploy(spec);
  } catch (err) {
    await LocalStack.teardownNode(spec);
    await LocalStack.stopAll(spec);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    stack, spec,
    expect: localExpectations(spec, vars, undefined),
    async stop() {
      await LocalStack.teardownNode(spec);
      await LocalStack.stopAll(spec);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A suite context for driving loads and reading engines from a test. */
export function suiteContext(stack: StackHandle, expect: NodeExpectations): SuiteContext & { close(): Promise<void> } {
  const progress = new Progress(expect.node, null);
  const http = new SuiteHttp(() => progress.request());
  return { stack, expect, params: PARAMS, http, progress, signal: new AbortController().signal, close: () => http.close() };
}

/** Runs one suite against a stack, with expectations that may differ from what the stack is. */
export async function runSuite(stack: StackHandle, expect: NodeExpectations, suite: SuiteName, params: Partial<TestParams> = {}): Promise<SuiteResult> {
  const run = await runSuites({ stack, expect, params: { ...PARAMS, ...params }, suites: [suite], runDir: null, progressFile: null });
  return run.results[0] as SuiteResult;
}

/** "name: status (reason)" of every case, for assertion messages. */
export function outline(r: SuiteResult): string {
  return r.cases.map((c) => `${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`).join('\n');
}

/**
 * Redeploys the router's routing logic through its watched config file, as
 * an operator's mistake would; the stack keeps it when it rescales. The
 * node's expectations (ts.expect) stay what they were.
 */
export async function setLiveRouting(ts: TestStack, logic: string): Promise<void> {
  if (ts.stack.spec.router) ts.stack.spec.router.routingLogic = logic;
  const engines = (await ts.stack.engines()).map((e) => Number(e.id.replace('engine-', '')));
  await writeJsonAtomic(nodeLayout(ts.spec.workDir).routerConfig, { ...routerDynamicConfig(ts.spec, engines), routing_logic: logic });
  for (let i = 0; i < 100; i++) {
    const live = (await (await fetch(`${ts.stack.routerUrl}/engines`)).json()) as { routing_logic: string };
    if (live.routing_logic === logic) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the router did not switch to ${logic}`);
}
