// Which suites a run executes: the enabled ones from the configuration
// (CONFIG_VLLM_TEST_*), or exactly those named by SUITES=, in a fixed order
// (api first: nothing else is worth running when the API is broken;
// faults last: it leaves the stack most disturbed).
import type { ExtraVars } from '../config/index.js';
import { SUITE_NAMES, type SuiteName } from './types.js';

export type SuiteSwitches = Pick<ExtraVars, 'vllm_test_api' | 'vllm_test_routing' | 'vllm_test_scaling' | 'vllm_test_lmcache' | 'vllm_test_pd' | 'vllm_test_faults'>
  & Partial<Pick<ExtraVars, 'vllm_test_lora'>>;

const SWITCH: Record<SuiteName, keyof SuiteSwitches> = {
  api: 'vllm_test_api', routing: 'vllm_test_routing', scaling: 'vllm_test_scaling', lmcache: 'vllm_test_lmcache', lora: 'vllm_test_lora', pd: 'vllm_test_pd',
  faults: 'vllm_test_faults',
};

export function enabledSuites(vars: SuiteSwitches): SuiteName[] {
  return SUITE_NAMES.filter((s) => vars[SWITCH[s]] ?? false);
}

/** The suites to run; `requested` is a comma list (SUITES=routing,faults) that replaces the configured selection. */
export function selectSuites(vars: SuiteSwitches, requested?: string): SuiteName[] {
  if (requested === undefined || requested.trim() === '') return enabledSuites(vars);
  const names = requested.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((s) => !(SUITE_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`SUITES names ${unknown.map((s) => `"${s}"`).join(', ')}, which is not a suite; the suites are ${SUITE_NAMES.join(', ')}`);
  return SUITE_NAMES.filter((s) => names.includes(s));
}
