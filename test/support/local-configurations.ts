// The documented configurations of the local target as the configuration
// journeys (test/e2e-configurations*.test.ts) deploy them: what each must
// run, which journey deploys it, and the checks every deploy passes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { readPidFile, type PidRecord } from '../../scripts/lib/stack/process-control.js';
import type { StatusReport } from '../../scripts/lib/status/node-status.js';
import { e2eProject } from './e2e-project.js';
import { REPO, type TempProject } from './temp-project.js';

export interface Expect { lmcache: boolean; routing: string; engines: number }

export const LOCAL: Record<string, Record<string, Expect>> = {
  // The README's own A/B example: only dev offloads.
  'vllm-local+ab-lmcache': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  'vllm-quick-test': { 'vllm-baseline': { lmcache: false, routing: 'roundrobin', engines: 1 } },
  'vllm-local+ab': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+lmcache': { 'vllm-baseline': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  'vllm-local+ab-router': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'session', engines: 2 } },
  'vllm-local+ab+lmcache': { 'vllm-baseline': { lmcache: true, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: true, routing: 'prefixaware', engines: 2 } },
  'vllm-local+lora': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+ab-lora-affinity': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'prefixaware', engines: 2 } },
  'vllm-local+pd': { 'vllm-baseline': { lmcache: false, routing: 'disaggregated_prefill', engines: 2 } },
  'vllm-local+ab-pd': { 'vllm-baseline': { lmcache: false, routing: 'prefixaware', engines: 2 }, 'vllm-dev': { lmcache: false, routing: 'disaggregated_prefill', engines: 2 } },
};

/**
 * Which journey file deploys each configuration (test/e2e-configurations-KEY.test.ts): one
 * file each, so that a failure hides no other configuration and node --test runs files side by side.
 */
export const DEPLOYED_IN = {
  // A/B to one node and back, then mrproper: each deploy replaces what the previous one left running.
  replace: ['vllm-local+ab-lmcache', 'vllm-quick-test', 'vllm-local+ab'],
  // The default: a port taken, then two commands at once.
  busy: ['vllm-local'],
  lmcache: ['vllm-local+lmcache', 'vllm-local+ab+lmcache', 'vllm-local+ab-router'],
  lora: ['vllm-local+lora', 'vllm-local+ab-lora-affinity'],
  pd: ['vllm-local+pd', 'vllm-local+ab-pd'],
} as const;

// Steps that are not the point here (the suites and the benchmark, as they land).
export const SPINE_ONLY = {
  VLLM_TEST_API: false, VLLM_TEST_ROUTING: false, VLLM_TEST_SCALING: false, VLLM_TEST_LMCACHE: false, VLLM_TEST_LORA: false, VLLM_TEST_PD: false, VLLM_TEST_FAULTS: false,
  VLLM_BENCHMARK_ENABLED: false,
};

// What Ansible's default output looks like; none of it may reach users.
export const ANSIBLE_NOISE = /Could not match supplied host pattern|PLAY \[|PLAY RECAP|stderr_lines|\bdelta:|\bcmd:/;

export async function statusJson<T>(p: TempProject, ...flags: string[]): Promise<T> {
  const out = await $({ cwd: p.dir, quiet: true })`node ${join(REPO, 'dist', 'scripts', 'vllm-status.js')} --json ${flags}`;
  return JSON.parse(out.stdout) as T;
}

export async function pidRecords(p: TempProject, node: string): Promise<PidRecord[]> {
  const dir = join(p.dir, 'work', node, 'pids');
  const files = existsSync(dir) ? await readdir(dir) : [];
  const records = await Promise.all(files.map((f) => readPidFile(join(dir, f))));
  return records.filter((r): r is PidRecord => r !== null);
}

export async function runs(p: TempProject): Promise<string[]> {
  const dir = join(p.dir, 'results');
  return existsSync(dir) ? (await readdir(dir)).filter((d) => /^\d{8}-/.test(d)).sort() : [];
}

/** `make vllm`, which must pass quietly (no Ansible noise). */
export async function makeVllm(p: TempProject, spec: string): Promise<void> {
  const out = await p.make('vllm');
  assert.equal(out.exitCode, 0, `${spec}: ${out.stdout}${out.stderr}`);
  assert.doesNotMatch(out.stdout + out.stderr, ANSIBLE_NOISE, spec);
}

/** After make vllm: the run passed on the configured nodes, and status shows each running as configured. Returns their processes. */
export async function deployedAsConfigured(p: TempProject, spec: string): Promise<Record<string, PidRecord[]>> {
  const nodes = LOCAL[spec];
  assert.ok(nodes, `${spec} is not in the table of local configurations`);
  const runId = await readlink(join(p.dir, 'results', 'latest'));
  const record = JSON.parse(await readFile(join(p.dir, 'results', runId, 'run.json'), 'utf8'));
  assert.equal(record.verdict, 'pass', `${spec}: ${JSON.stringify(record)}`);
  assert.deepEqual(Object.keys(record.nodes).sort(), Object.keys(nodes).sort(), spec);
  const status = await statusJson<StatusReport>(p);
  assert.deepEqual(status.nodes.map((n) => n.node).sort(), Object.keys(nodes).sort(), `${spec}: status shows the configured nodes only`);
  for (const n of status.nodes) {
    const want = nodes[n.node] as Expect;
    assert.equal(n.state, 'running', `${spec}: ${n.node}`);
    assert.deepEqual([n.lmcache, n.routing_logic, n.engines_ready, n.drift], [want.lmcache, want.routing, want.engines, []], `${spec}: ${n.node}`);
  }
  return Object.fromEntries(await Promise.all(Object.keys(nodes).map(async (n) => [n, await pidRecords(p, n)] as const)));
}

/** One test per configuration, each in a project of its own: make vllm, then every node runs as configured. */
export function eachDeploysAsConfigured(specs: readonly string[]): void {
  for (const spec of specs) {
    test(`${spec} deploys through make, every node running as configured`, { timeout: 600_000 }, async (t) => {
      const project = await e2eProject(t, spec, { ports: 200, extra: SPINE_ONLY });
      if (!project) return;
      await makeVllm(project.p, spec);
      await deployedAsConfigured(project.p, spec);
    });
  }
}
