// A command refused on its arguments leaves no run behind: no results/<run>/
// whose verdict reads "pass", no results/latest pointing at one.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkRunArguments } from '../scripts/lib/run-control/run-arguments.js';
import { e2eToolsMissing } from './support/configure.js';
import { configureOnPorts, freePortBase, tempProject } from './support/temp-project.js';

const SWITCHES = { vllm_benchmark_enabled: false, vllm_test_api: true, vllm_test_routing: false, vllm_test_scaling: false, vllm_test_lmcache: false, vllm_test_pd: false, vllm_test_faults: false };

test('run arguments: unknown suites and a switched-off benchmark are refused, naming what to do', () => {
  assert.throws(() => checkRunArguments(SWITCHES, { suites: 'api,nonsense', tags: 'test' }), /"nonsense", which is not a suite; the suites are api, routing/);
  assert.throws(() => checkRunArguments(SWITCHES, { suites: '', tags: 'benchmark,results' }), /CONFIG_VLLM_BENCHMARK_ENABLED is not set.*make menuconfig/);
  checkRunArguments(SWITCHES, { suites: 'routing', tags: 'test' });
  checkRunArguments(SWITCHES, { suites: '', tags: 'all' });
  checkRunArguments({ ...SWITCHES, vllm_benchmark_enabled: true }, { tags: 'benchmark,results' });
});

test('make vllm-test SUITES=nonsense and make vllm-benchmark with the benchmark off create no run', { timeout: 120_000 }, async (t) => {
  const missing = await e2eToolsMissing();
  if (missing) return t.skip(missing);
  const p = await tempProject();
  t.after(() => p.remove());
  await configureOnPorts(p, 'vllm-local', await freePortBase(100), { VLLM_BENCHMARK_ENABLED: false });
  const suites = await p.make('vllm-test', 'SUITES=nonsense');
  assert.notEqual(suites.exitCode, 0);
  assert.match(suites.stdout + suites.stderr, /"nonsense", which is not a suite/);
  const bench = await p.make('vllm-benchmark');
  assert.notEqual(bench.exitCode, 0);
  assert.match(bench.stdout + bench.stderr, /CONFIG_VLLM_BENCHMARK_ENABLED is not set/);
  const results = await readdir(join(p.dir, 'results')).catch(() => []);
  assert.deepEqual(results, [], 'no run folder and no results/latest');
});
