// Configurations one after another in one project, as a user switches them:
// each make vllm replaces what the previous configuration left running (nodes
// it no longer has included), status says what changed meanwhile, each run's
// logs hold that run's lines, and mrproper stops everything.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRunning } from '../scripts/lib/stack/process-control.js';
import type { SimplifiedReport } from '../scripts/lib/status/format-status.js';
import { e2eProject } from './support/e2e-project.js';
import { DEPLOYED_IN, deployedAsConfigured, LOCAL, makeVllm, runs, SPINE_ONLY, statusJson } from './support/local-configurations.js';
import { configureOnPorts, processesUnder } from './support/temp-project.js';

test('A/B to one node and back: each deploy replaces what the previous one left running, status shows the change first; mrproper stops all', { timeout: 900_000 }, async (t) => {
  const [ab, one, abAgain] = DEPLOYED_IN.replace;
  const project = await e2eProject(t, ab, { ports: 200, extra: SPINE_ONLY });
  if (!project) return;
  const { p, base } = project;
  await makeVllm(p, ab);
  const first = await deployedAsConfigured(p, ab);

  // Before redeploying, status compares what runs with the new configuration.
  await configureOnPorts(p, one, base, SPINE_ONLY);
  const before = await statusJson<SimplifiedReport>(p, '--simplified');
  for (const name of Object.keys(first)) {
    const n = before.nodes.find((x) => x.node === name);
    assert.ok(n && n.state === 'running', `${ab} -> ${one}: ${name} still runs and status shows it`);
    assert.equal(n.configured, name in (LOCAL[one] ?? {}), `${ab} -> ${one}: ${name} configured or not`);
  }
  assert.equal(before.nodes.find((x) => x.node === 'vllm-baseline')?.config_changed, true, `drift from ${ab} to ${one}`);
  assert.ok(before.hints.some((h) => /make vllm .*configuration changed/.test(h)), before.hints.join('\n'));
  await makeVllm(p, one);
  await deployedAsConfigured(p, one);
  for (const r of first['vllm-dev'] ?? []) assert.equal(isRunning(r), false, `${one}: vllm-dev's ${r.command} was stopped`);

  await configureOnPorts(p, abAgain, base, SPINE_ONLY);
  await makeVllm(p, abAgain);
  const last = await deployedAsConfigured(p, abAgain);

  // Each run's logs hold that run's lines: the router log of the last run has its smoke test's two requests only.
  const all = await runs(p);
  assert.equal(all.length, DEPLOYED_IN.replace.length, 'one run per make vllm');
  const lastLog = await readFile(join(p.dir, 'results', all.at(-1) as string, 'vllm-baseline', 'logs', 'router.log'), 'utf8');
  assert.equal(lastLog.match(/INFO request /g)?.length, 2, lastLog);
  assert.ok(((await readFile(join(p.dir, 'work', 'vllm-baseline', 'logs', 'router.log'), 'utf8')).match(/INFO request /g)?.length ?? 0) > 2);

  // mrproper with a configuration that no longer has dev: everything stops, results stay.
  await configureOnPorts(p, one, base, SPINE_ONLY);
  const proper = await p.make('mrproper');
  assert.equal(proper.exitCode, 0, proper.stdout + proper.stderr);
  assert.match(proper.stdout, /vllm-dev: stopped router/);
  for (const r of Object.values(last).flat()) assert.equal(isRunning(r), false, `${r.command} stopped by mrproper`);
  assert.deepEqual(await processesUnder(p.dir), []);
  assert.equal(existsSync(join(p.dir, '.deployed')), false);
  assert.deepEqual(await runs(p), all, 'results stay');
});
