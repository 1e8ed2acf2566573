// The suites and how a node runs them: each selected suite in turn against
// the node's stack, every result validated and written as soon as the suite
// ends, progress kept live for the controller's watcher.
import { setMaxListeners } from 'node:events';
import type { StackHandle } from '../stack/stack-handle.js';
import { apiSuite } from './api.js';
import type { NodeExpectations, SuiteContext, TestParams } from './context.js';
import { faultsSuite } from './faults.js';
import { SuiteHttp } from './http.js';
import { lmcacheSuite } from './lmcache.js';
import { loraSuite } from './lora.js';
import { pdSuite } from './pd.js';
import { Progress } from './progress.js';
import { writeSuiteResult } from './result-file.js';
import { routingSuite } from './routing.js';
import { runSuite, type SuiteDefinition } from './runner.js';
import { scalingSuite } from './scaling.js';
import type { SuiteName, SuiteResult } from './types.js';

export { SUITE_NAMES, type SuiteName, type SuiteResult, type CaseResult } from './types.js';
export { selectSuites, enabledSuites } from './plan.js';
export { localExpectations, testParams, type NodeExpectations, type TestParams } from './context.js';

export const SUITES: Record<SuiteName, SuiteDefinition> = {
  api: apiSuite, routing: routingSuite, scaling: scalingSuite, lmcache: lmcacheSuite, lora: loraSuite, pd: pdSuite, faults: faultsSuite,
};

export interface SuiteRunOptions {
  stack: StackHandle;
  expect: NodeExpectations;
  params: TestParams;
  suites: SuiteName[];
  /** Where suites/<name>.json go; null: not written (tests). */
  runDir: string | null;
  /** The live progress file; null: none. */
  progressFile: string | null;
  print?: (line: string) => void;
  signal?: AbortSignal;
}

export interface SuiteRun {
  results: SuiteResult[];
  /** Result file of each suite, by name. */
  files: Partial<Record<SuiteName, string>>;
  failed: boolean;
}

export async function runSuites(o: SuiteRunOptions): Promise<SuiteRun> {
  const progress = new Progress(o.expect.node, o.progressFile, o.print);
  const http = new SuiteHttp(() => progress.request());
  const signal = o.signal ?? new AbortController().signal;
  // Every request of a load listens on the run's signal.
  setMaxListeners(0, signal);
  const ctx: SuiteContext = { stack: o.stack, expect: o.expect, params: o.params, http, progress, signal };
  const run: SuiteRun = { results: [], files: {}, failed: false };
  progress.start();
  try {
    for (const name of o.suites) {
      const result = await runSuite(SUITES[name], ctx);
      run.results.push(result);
      if (result.status === 'failed') run.failed = true;
      if (o.runDir !== null) run.files[name] = await writeSuiteResult(o.runDir, result);
    }
  } finally {
    await progress.stop();
    await http.close();
  }
  return run;
}
