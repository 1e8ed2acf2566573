// What a suite knows: the stack handle, what the node's configuration
// promises (the expectations are derived from it, never from the live
// stack), the test parameters, and where progress goes.
import type { ExtraVars } from '../config/index.js';
import type { LoraPlan } from '../vocabulary/node-plan.js';
import type { NodePlan } from '../vocabulary/node-plan.js';
import type { StackHandle } from '../stack/stack-handle.js';
import type { SuiteHttp } from './http.js';
import type { Progress } from './progress.js';

export interface NodeExpectations {
  node: string;
  target: string;
  model: string;
  /** The engines' API key; clients of the router need none. */
  apiKey: string | undefined;
  engineKind: 'sim' | 'vllm';
  /** null: the node runs no router. */
  routingLogic: string | null;
  routerImpl: 'builtin' | 'production-stack' | null;
  sessionKey: string;
  replicas: number;
  maxReplicas: number;
  maxNumSeqs: number;
  maxModelLen: number;
  prefixCaching: boolean;
  lmcacheEnabled: boolean;
  /** The router's --request-timeout, null when its router has none. */
  requestTimeoutS: number | null;
  /** The router's --max-concurrency, null when its router has none. */
  maxConcurrency: number | null;
  /** The router's --outlier-consecutive-5xx (0: off), null when its router has no outlier ejection. */
  outlierConsecutive5xx: number | null;
  /** Disaggregated prefill: engines 0..prefill-1 prefill, the rest decode; absent or null when the node's engines are colocated. */
  pd?: { prefill: number; decode: number; routingLogic: string } | null;
  /** KEDA owns the engine replica count (Kubernetes with CONFIG_VLLM_AUTOSCALING_ENABLED): the suites may not scale by hand. */
  kedaScaled: boolean;
  /** LoRA as configured, and how often the router re-reads the engines' models (s); absent or null: LoRA off. */
  lora?: { plan: LoraPlan; replicas: number; modelsRereadS: number } | null;
}

/** Why a case that scales is skipped when kedaScaled. */
export const KEDA_OWNS_REPLICAS = 'KEDA owns the engine replica count (CONFIG_VLLM_AUTOSCALING_ENABLED on Kubernetes): a count set by hand would be undone, so the suites do not scale; turn autoscaling off to test scaling by hand';

export interface TestParams {
  /** Requests/s of the steady background load. */
  loadRate: number;
  /** Seconds a timed case measures. */
  caseSeconds: number;
  /** Tolerance of measured shares, as a fraction. */
  tolerance: number;
}

export interface SuiteContext {
  stack: StackHandle;
  expect: NodeExpectations;
  params: TestParams;
  http: SuiteHttp;
  progress: Progress;
  /** Aborted when the run is interrupted: loads stop, perturbations are undone. */
  signal: AbortSignal;
}

export function testParams(vars: Pick<ExtraVars, 'vllm_test_load_rate' | 'vllm_test_case_seconds' | 'vllm_test_tolerance_pct'>): TestParams {
  return { loadRate: vars.vllm_test_load_rate, caseSeconds: vars.vllm_test_case_seconds, tolerance: vars.vllm_test_tolerance_pct / 100 };
}

/** The expectations of a local node: its stack spec is the configuration as this node applies it. */
export function localExpectations(spec: NodePlan, vars: Pick<ExtraVars, 'vllm_target' | 'vllm_max_num_seqs' | 'vllm_max_model_len' | 'vllm_enable_prefix_caching' | 'vllm_autoscaling_enabled'>, apiKey: string | undefined): NodeExpectations {
  const router = spec.router;
  return {
    node: spec.node,
    target: vars.vllm_target,
    model: spec.engine.servedModelName,
    apiKey,
    engineKind: spec.engine.kind,
    routingLogic: router?.routingLogic ?? null,
    routerImpl: router?.impl ?? null,
    sessionKey: router?.sessionKey ?? 'x-user-id',
    replicas: spec.replicas,
    maxReplicas: spec.maxReplicas,
    maxNumSeqs: vars.vllm_max_num_seqs,
    maxModelLen: vars.vllm_max_model_len,
    prefixCaching: vars.vllm_enable_prefix_caching,
    lmcacheEnabled: spec.engine.lmcacheEnabled,
    requestTimeoutS: router?.impl === 'builtin' ? router.requestTimeout : null,
    maxConcurrency: router?.impl === 'builtin' ? router.maxConcurrency : null,
    outlierConsecutive5xx: router?.impl === 'builtin' ? router.outlierConsecutive5xx : null,
    kedaScaled: vars.vllm_target !== 'local' && vars.vllm_autoscaling_enabled,
    lora: spec.engine.lora ? { plan: spec.engine.lora, replicas: spec.replicas, modelsRereadS: router?.engineStatsInterval ?? 0 } : null,
    pd: spec.pd ? { prefill: spec.pd.prefill, decode: spec.pd.decode, routingLogic: spec.pd.routingLogic } : null,
  };
}
