// What a run is asked to do, checked before the run exists: a command that
// fails on its arguments (SUITES=nonsense, a benchmark that is switched off)
// must not leave a run behind whose verdict reads "pass" and that
// results/latest points at.
import type { ExtraVars } from '../config/index.js';
import { selectSuites, type SuiteSwitches } from '../suites/plan.js';

export interface RunArguments {
  /** SUITES=: a comma list replacing the enabled suites ("" or undefined: the enabled ones). */
  suites?: string | undefined;
  /** The playbook's tags for this run (Ansible's ansible_run_tags: "all", or e.g. "benchmark,results"). */
  tags?: string | undefined;
}

/** Throws with what is wrong and what to do; returns nothing when the run may start. */
export function checkRunArguments(vars: Pick<ExtraVars, 'vllm_benchmark_enabled'> & SuiteSwitches, args: RunArguments): void {
  selectSuites(vars, args.suites);
  const tags = (args.tags ?? '').split(',').map((t) => t.trim());
  if (tags.includes('benchmark') && !vars.vllm_benchmark_enabled) {
    throw new Error('CONFIG_VLLM_BENCHMARK_ENABLED is not set: turn the benchmark on in make menuconfig (or pick a defconfig that has it, such as vllm-local); no run was started');
  }
}
