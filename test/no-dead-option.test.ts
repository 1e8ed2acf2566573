// No option that nothing reads: every CONFIG_VLLM_* symbol, changed alone in a
// configuration that has it, changes some generated output — the local
// stack's command lines, the Helm values, the helm and minikube command lines,
// the bring-up checks, the inventory, the suites and their parameters, the
// benchmark's workloads and the A/B verdict's thresholds. Exceptions are listed with their reason,
// and an exception that stops being needed fails the test too.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { deployedAlertRules, readShippedAlertRules } from '../scripts/lib/observability/alert-rules.js';
import { observabilityChartValues } from '../scripts/lib/observability/chart-values.js';
import { shippedDashboards, type ShippedDashboard } from '../scripts/lib/observability/dashboards.js';
import { chartSource, pullArgs } from '../scripts/lib/helm/chart.js';
import { installArgs } from '../scripts/lib/helm/commands.js';
import { deployTimeoutSeconds, kubeConfigProblems } from '../scripts/lib/helm/render.js';
import { helmValues, nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { clusterAccess } from '../scripts/lib/targets/kube/access.js';
import { checkHost } from '../scripts/lib/targets/kube/host-check.js';
import { minikubeAddonArgs, minikubeStartArgs } from '../scripts/lib/targets/kube/minikube.js';
import { kubeMonitorPlan } from '../scripts/lib/targets/kube/monitor-kube.js';
import { nodeConfigs, readKconfigTree, readSchema, renderInventory, varName, type ExtraVars } from '../scripts/lib/config/index.js';
import { resultsDir } from '../scripts/lib/stack/load-node.js';
import { readSecrets } from '../scripts/lib/stack/secrets.js';
import { benchSettings } from '../scripts/lib/config/bench-settings.js';
import { thresholdsFrom } from '../scripts/lib/compare/compare.js';
import { testParams } from '../scripts/lib/suites/context.js';
import { enabledSuites } from '../scripts/lib/suites/plan.js';
import { nodePlan } from '../scripts/lib/config/node-plan.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { REPO, tempProject } from './support/temp-project.js';

/** Configurations that together contain every symbol. */
const BASES = ['vllm-local+ab', 'vllm-local+ab-lora-affinity', 'vllm-local+pd', 'vllm-local+ab-pd', 'vllm-local+lmcache', 'vllm-quick-test', 'vllm+sim+autoscaling+ab', 'vllm-production-stack-gpu+ab', 'vllm-existing-cluster+ab-router', 'vllm-production-stack-cpu+lmcache', 'vllm-local+serving', 'vllm-declared-hosts',
  // Real vLLM on the local target: from a venv, and in containers (A/B, so the dev node's image tag).
  'vllm-quick-test+gpu+lora', 'vllm-quick-test+gpu+ab+container'];

/** Symbols that change no generated output, and why that is right. */
const EXCEPTIONS: Record<string, string> = {
  VLLM_HELM_VERSION: 'read by Ansible in playbooks/roles/vllm_k8s_tools, which installs that helm release',
  VLLM_KUBECTL_VERSION: 'read by Ansible in playbooks/roles/vllm_k8s_tools, which installs that kubectl release',
  VLLM_NODE_MIN_FREE_DISK_MB: 'read by Ansible in playbooks/roles/vllm_node_provision, which refuses a declared host with less free disk',
  VLLM_HF_TOKEN_FILE: 'names a file read at deploy time (scripts/lib/stack/secrets.ts, checked below); the secret reaches no generated file, by design',
  VLLM_API_KEY_FILE: 'names a file read at deploy time (scripts/lib/stack/secrets.ts, checked below); the secret reaches no generated file, by design',
};
/** Where a playbook-only exception must be read. */
const READ_BY_PLAYBOOKS = ['VLLM_HELM_VERSION', 'VLLM_KUBECTL_VERSION', 'VLLM_NODE_MIN_FREE_DISK_MB'];

const HOST = { docker: '/usr/bin/docker', podman: null, engineError: null, minikube: null, nvidiaSmi: null, nvidiaCtk: null, kernel: '6.1.0', cpus: 64, memoryMiB: 1 << 20 };

type Vars = Record<string, unknown>;

/** Everything the harness generates from a configuration, as one comparable text. */
function outputs(v: Vars, topdir: string, shipped: { dashboards: ShippedDashboard[]; rules: string }): string {
  const vars = v as unknown as ExtraVars;
  const safe = (f: () => unknown) => {
    try {
      return f();
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };
  const nodes = safe(() => nodeConfigs(vars, topdir)) as ReturnType<typeof nodeConfigs> | string;
  const perNode = typeof nodes === 'string' ? nodes : nodes.map((node) => {
    const spec = safe(() => nodePlan(vars, node, { apiKey: 'k' })) as ReturnType<typeof nodePlan> | string;
    const observability = typeof spec !== 'string' && spec.prometheus ? safe(() => observabilityChartValues({
      dashboards: shipped.dashboards, alertRules: deployedAlertRules(shipped.rules, spec.prometheus?.alertThresholds ?? { errorRatePct: 0, ttftP95Ms: 0, kvCacheUsagePct: 0, queueDepth: 0 }),
      node: node.name, role: node.role, scrapeIntervalSeconds: spec.prometheus?.scrapeIntervalSeconds ?? 0,
    })) as Vars : null;
    return {
      spec,
      kube: vars.vllm_target === 'local' ? null : {
        values: safe(() => helmValues(vars, node, { apiKey: true, hfToken: true }, observability)),
        install: safe(() => installArgs(nodeReleaseNames(vars, node), 'C', 'V', deployTimeoutSeconds(vars), clusterAccess(vars, {}))),
      },
    };
  });
  return JSON.stringify({
    inventory: typeof nodes === 'string' ? nodes : renderInventory(nodes),
    perNode,
    results: resultsDir({ vars, topdir, nodes: [] }),
    suites: [enabledSuites(vars), testParams(vars)],
    benchmark: safe(() => benchSettings(vars)),
    verdict: thresholdsFrom(vars),
    kube: vars.vllm_target === 'local' ? null : {
      minikube: [minikubeStartArgs(vars, 'docker'), ...minikubeAddonArgs(vars)],
      chart: pullArgs(chartSource(vars, topdir, {}), 'DIR'),
      monitor: typeof nodes === 'string' || !nodes[0] ? null : safe(() => kubeMonitorPlan(nodeReleaseNames(vars, nodes[0]), clusterAccess(vars, {}), { prometheus: vars.vllm_prometheus_port ?? 9090, grafana: vars.vllm_grafana_port ?? 3000 })),
      chartPath: chartSource(vars, topdir, {}).path,
      host: checkHost(vars, HOST),
      problems: kubeConfigProblems(vars),
    },
  });
}

/** The same option with another valid value. */
function perturb(name: string, value: unknown, prop: { enum?: string[]; minimum?: number; maximum?: number }): unknown {
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'number') return value + 1 <= (prop.maximum ?? Infinity) ? value + 1 : value - 1;
  const text = String(value);
  if (prop.enum) return prop.enum.find((e) => e !== text);
  if (/^\d/.test(text)) return text.replace(/^\d+/, (n) => String(Number(n) + 1));
  if (name === 'vllm_declared_hosts') return text === '' ? 'hostx' : `${text}x`;
  return text === '' ? 'x' : `${text}-x`;
}

test('every CONFIG_VLLM_* symbol changes some generated output, but for the listed exceptions', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const tree = readKconfigTree(join(REPO, 'Kconfig'));
  const schema = readSchema() as { properties: Record<string, { enum?: string[]; minimum?: number; maximum?: number }> };
  const shipped = { dashboards: await shippedDashboards(), rules: await readShippedAlertRules() };
  const live = new Set<string>();
  const present = new Set<string>();
  for (const base of BASES) {
    const { vars } = await configureProject(p, base);
    const before = outputs(vars as unknown as Vars, p.dir, shipped);
    for (const [name, value] of Object.entries(vars)) {
      present.add(name);
      if (live.has(name)) continue;
      const after = outputs({ ...(vars as unknown as Vars), [name]: perturb(name, value, schema.properties[name] ?? {}) }, p.dir, shipped);
      if (after !== before) live.add(name);
    }
  }
  // The detector can fail: an option nothing reads leaves every output as it was.
  const { vars: sample } = await configureProject(p, 'vllm-production-stack-gpu+ab');
  const unread = (value: boolean) => outputs({ ...(sample as unknown as Vars), vllm_nothing_reads_this: value }, p.dir, shipped);
  assert.equal(unread(true), unread(false));
  const choiceMembers = [...tree.values()].filter((s) => s.choice !== null).map((s) => s.name);
  const dead: string[] = [];
  for (const sym of tree.keys()) {
    const name = varName(sym);
    assert.ok(present.has(name), `${sym} is in none of the configurations this test uses; add one that has it to BASES`);
    // A choice member is read through the choice's derived string (CONFIG_VLLM_ROUTING_LOGIC...), which is checked like any option.
    if (!live.has(name) && !choiceMembers.includes(sym) && !(sym in EXCEPTIONS)) dead.push(sym);
  }
  assert.deepEqual(dead, [], 'options that change no output: make something read them, or remove them');
  const stale = Object.keys(EXCEPTIONS).filter((s) => live.has(varName(s)) || !tree.has(s));
  assert.deepEqual(stale, [], 'exceptions that are read (or gone) now: remove them from EXCEPTIONS');
  const roles = join(REPO, 'playbooks', 'roles');
  const tasks = (await Promise.all((await readdir(roles)).map((r) => readFile(join(roles, r, 'tasks', 'main.yml'), 'utf8').catch(() => '')))).join('\n');
  await writeFile(join(p.dir, 'hf'), 'hf-secret\n');
  await writeFile(join(p.dir, 'key'), 'api-secret\n');
  assert.deepEqual(await readSecrets({ vllm_hf_token_file: join(p.dir, 'hf'), vllm_api_key_file: join(p.dir, 'key') }, {}), { hfToken: 'hf-secret', apiKey: 'api-secret' });
  for (const s of READ_BY_PLAYBOOKS) assert.ok(new RegExp(`\\b${varName(s)}\\b`).test(tasks), `${s} is not read by any role`);
});
