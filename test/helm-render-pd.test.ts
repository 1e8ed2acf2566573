// Disaggregated prefill on Kubernetes: the values of +pd (and of dev in
// +ab-pd, with the KV pulled) pass the chart's checks, the real helm renders
// a prefill and a decode engine Deployment labelled for the router's two
// pools, with LMCache's NIXL settings as production-stack's
// values-10-disagg-prefill.yaml has them, and the simulator's `vllm serve`
// takes each rendered command line and environment as its producer or
// consumer role.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { parseAllDocuments, stringify } from 'yaml';
import { loadChart } from '../scripts/lib/helm/chart.js';
import { templateArgs } from '../scripts/lib/helm/commands.js';
import { checkedValues } from '../scripts/lib/helm/render.js';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { translateVllmArgs } from '../engine-sim/src/vllm-cli.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { validateObject, type KubeDoc } from './support/kube-models.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject } from './support/temp-project.js';

const CHART_DIR = referenceChartDir() ?? '(shared/reference/vllm-stack-0.1.12 not found beside the project)';
const HELM = join(REPO, '.tools', 'bin', 'helm');

type Container = { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] };
type Deployment = KubeDoc & { spec: { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } } } };

const flag = (argv: string[], name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

test('+pd and +ab-pd on Kubernetes: two engine Deployments with the pools\' labels and LMCache NIXL, the router split between them', async (t) => {
  const why = !existsSync(join(CHART_DIR, 'Chart.yaml')) ? `the reference chart is not at ${CHART_DIR}` : !existsSync(HELM) ? `${HELM} is missing: make deps extracts it` : await kconfigMissing();
  if (why) return t.skip(why);
  const chart = await loadChart(CHART_DIR);
  const p = await tempProject();
  const out = await mkdtemp(join(tmpdir(), 'helm-pd-'));
  t.after(() => Promise.all([p.remove(), rm(out, { recursive: true, force: true })]));
  const cases = [
    { spec: 'vllm+sim+pd', node: 'vllm-baseline', push: true },
    { spec: 'vllm+sim+ab-pd', node: 'vllm-dev', push: false, edit: { VLLM_PD_PROTOCOL_ORCHESTRATED: true, VLLM_PD_PROTOCOL_NIXL_PUSH: false } },
  ];
  for (const c of cases) {
    const config = await configureProject(p, c.spec, c.edit ?? {});
    const loaded = config.nodes.find((n) => n.node.name === c.node);
    assert.ok(loaded, `${c.spec}: node ${c.node}`);
    const { values } = checkedValues(config.vars, loaded.node, { apiKey: false, hfToken: false }, chart);
    const names = nodeReleaseNames(config.vars, loaded.node);
    const file = join(out, `${c.spec}.yaml`);
    await writeFile(file, stringify(values));
    const res = await $({ quiet: true, nothrow: true })`${HELM} ${templateArgs(names, CHART_DIR, file)}`;
    assert.equal(res.exitCode, 0, `${c.spec}: ${res.stderr}`);
    const docs = parseAllDocuments(res.stdout).map((d) => d.toJS() as KubeDoc).filter((d) => d !== null);
    for (const d of docs) await validateObject(d);
    const deployment = (leg: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === `${names.release}-${names.model}-${leg}-deployment-vllm`) as Deployment;
    const router = (docs.find((d) => d.kind === 'Deployment' && d.metadata.name === names.routerDeployment) as Deployment).spec.template.spec.containers[0]?.args ?? [];
    assert.equal(flag(router, '--routing-logic'), c.push ? 'disaggregated_prefill' : 'disaggregated_prefill_orchestrated', c.spec);
    assert.equal(flag(router, '--prefill-model-labels'), `${names.model}-prefill`);
    assert.equal(flag(router, '--decode-model-labels'), `${names.model}-decode`);
    for (const leg of ['prefill', 'decode'] as const) {
      const d = deployment(leg);
      assert.ok(d, `${c.spec}: the ${leg} Deployment is rendered`);
      assert.equal(d.spec.replicas, 1);
      assert.equal(d.spec.template.metadata.labels.model, `${names.model}-${leg}`, 'the pod label the router tells the pools apart by');
      const container = d.spec.template.spec.containers[0] as Container;
      const cmd = container.command ?? [];
      assert.match(flag(cmd, '--kv-transfer-config') ?? '', new RegExp(`"kv_role":"${leg === 'prefill' ? 'kv_producer' : 'kv_consumer'}"`));
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
      if (c.push) {
        assert.equal(env.LMCACHE_NIXL_ROLE, leg === 'prefill' ? 'sender' : 'receiver');
        assert.equal(env.LMCACHE_NIXL_RECEIVER_PORT, '55555');
        if (leg === 'prefill') assert.equal(env.LMCACHE_NIXL_RECEIVER_HOST, `${names.release}-${names.model}-decode-engine-service`, 'the decode engines\' Service, which opens port 55555');
      } else {
        assert.equal(env.LMCACHE_ENABLE_NIXL, 'False', 'pulled KV: no NIXL push');
      }
      // The image's `vllm serve` takes the rendered command and environment as the simulator's role.
      const sim = translateVllmArgs(cmd.slice(1), env).simArgs;
      assert.equal(flag(sim, '--kv-role'), leg === 'prefill' ? 'producer' : 'consumer', `${c.spec} ${leg}`);
      if (c.push && leg === 'prefill') assert.equal(flag(sim, '--kv-peer'), `${names.release}-${names.model}-decode-engine-service:55555`);
      if (c.push && leg === 'decode') assert.equal(flag(sim, '--kv-port'), '55555');
      if (!c.push && leg === 'prefill') assert.equal(flag(sim, '--kv-port'), '55555', 'the decode pod pulls from the prefill pod\'s KV port');
      assert.equal(flag(sim, '--kv-transfer-tokens-per-second'), String(config.vars.vllm_sim_kv_transfer_tokens_per_sec));
    }
    if (c.spec.includes('ab-pd')) {
      const baseline = config.nodes.find((n) => n.node.name === 'vllm-baseline');
      assert.ok(baseline);
      const b = checkedValues(config.vars, baseline.node, { apiKey: false, hfToken: false }, chart).values as { servingEngineSpec: { modelSpec: unknown[] } };
      assert.equal(b.servingEngineSpec.modelSpec.length, 1, 'baseline stays colocated');
    }
  }
});
