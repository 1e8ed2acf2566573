// The configuration pipeline as users drive it: real kconfig-conf, the
// generator tools, the files they write.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDotConfig } from '../scripts/lib/config/dotconfig.js';
import { $, which } from 'zx';
import { parse } from 'yaml';
import { buildSchema, readKconfigTree, readSchema, renderNodesInventory, varName } from '../scripts/lib/config/index.js';
import { DOCUMENTED } from './support/documented-configs.js';
import { REPO, tempProject, type TempProject } from './support/temp-project.js';

async function missing(): Promise<string | null> {
  return (await which('kconfig-conf', { nothrow: true })) ? null : 'kconfig-conf is not installed (make deps installs kconfig-frontends-nox)';
}

const tool = (p: TempProject, name: string, ...args: string[]) =>
  $({ cwd: p.dir, nothrow: true, quiet: true })`node ${join(REPO, 'dist', 'scripts', `${name}.js`)} ${args}`;

async function configure(p: TempProject, spec: string): Promise<Record<string, unknown>> {
  const apply = await tool(p, 'kconfig-apply', 'defconfig', spec);
  assert.equal(apply.exitCode, 0, `defconfig-${spec}: ${apply.stderr}`);
  const gen = await tool(p, 'gen-extra-vars');
  assert.equal(gen.exitCode, 0, `defconfig-${spec}: ${gen.stderr}`);
  return parse(await readFile(join(p.dir, 'extra_vars.yaml'), 'utf8')) as Record<string, unknown>;
}

test('every defconfig and documented combination yields valid variables, and together they reach every Kconfig symbol', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const reached = new Set<string>();
  for (const spec of DOCUMENTED) {
    const vars = await configure(p, spec);
    for (const k of Object.keys(vars)) reached.add(k);
  }
  const tree = readKconfigTree(join(REPO, 'Kconfig'));
  const unreached = [...tree.keys()].filter((s) => !reached.has(varName(s)));
  assert.deepEqual(unreached, [], 'symbols no documented configuration reaches');
});

test('defconfigs set what they promise', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  const local = await configure(p, 'vllm-local');
  assert.equal(local.vllm_target, 'local');
  assert.equal(local.vllm_engine, 'sim');
  assert.equal(local.vllm_replica_count, 2);
  assert.equal(local.vllm_routing_logic, 'prefixaware');
  assert.equal(local.vllm_benchmark_duration, 20);
  const kdevops = await configure(p, 'vllm');
  assert.equal(kdevops.vllm_target, 'minikube');
  assert.equal(kdevops.vllm_engine_image_repo, 'openeuler/vllm-cpu');
  assert.equal(kdevops.vllm_routing_logic, 'roundrobin');
  assert.equal(kdevops.vllm_benchmark_concurrent_users, 10);
  const abLmcache = await configure(p, 'vllm-local+ab-lmcache');
  assert.equal(abLmcache.vllm_baseline_and_dev, true);
  assert.equal(abLmcache.vllm_lmcache_enabled, false);
  assert.equal(abLmcache.vllm_dev_lmcache_enabled, 'y');
  // Only dev offloads: its buffer size is there all the same (the README's own A/B example).
  assert.equal(abLmcache.vllm_lmcache_cpu_buffer_size, 4);
  assert.equal(abLmcache.vllm_sim_offload_time_per_token_us, 20);
  const hosts = await readFile(join(p.dir, 'hosts'), 'utf8');
  assert.match(hosts, /^vllm-dev .*vllm_node_lmcache_enabled=True/m, 'the dev override is a host variable of dev');
  assert.doesNotMatch(hosts, /^vllm-baseline .*vllm_node_lmcache_enabled/m, 'and of dev only');
});

interface InvalidCase {
  name: string;
  defconfig: string;
  edit: Record<string, string | number | boolean>;
  error: RegExp;
}

const INVALID: InvalidCase[] = [
  { name: 'an int Kconfig would silently reset', defconfig: 'vllm-local', edit: { VLLM_REPLICA_COUNT: 0 }, error: /CONFIG_VLLM_REPLICA_COUNT=0 did not survive: outside its range 1\.\.64; Kconfig would reset it to 1\n/ },
  { name: 'two options of one choice', defconfig: 'vllm-local', edit: { VLLM_ROUTER_ROUND_ROBIN: true }, error: /CONFIG_VLLM_ROUTER_\w+=y did not survive: another option of the same choice won \(CONFIG_VLLM_ROUTER_\w+=y\): set only one option of a choice/ },
  { name: 'a malformed Kubernetes quantity', defconfig: 'vllm', edit: { VLLM_REQUEST_MEMORY: '16GB' }, error: /CONFIG_VLLM_REQUEST_MEMORY="16GB": not a Kubernetes quantity/ },
  { name: 'ports that collide', defconfig: 'vllm-local', edit: { VLLM_API_PORT: 9088 }, error: /CONFIG_VLLM_PROMETHEUS_PORT=9090: gives vllm-baseline prometheus port 9090, which vllm-baseline engine-1 already uses/ },
  { name: 'min replicas above max', defconfig: 'vllm-local', edit: { VLLM_AUTOSCALING_MIN_REPLICAS: 5 }, error: /CONFIG_VLLM_AUTOSCALING_MIN_REPLICAS=5: larger than CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS=4/ },
  { name: 'GPUs with CPU inference', defconfig: 'vllm', edit: { VLLM_REQUEST_GPU: 2 }, error: /CONFIG_VLLM_REQUEST_GPU=2: GPUs are requested but CONFIG_VLLM_USE_CPU_INFERENCE is set/ },
  { name: 'an option whose dependencies are unmet', defconfig: 'vllm-local', edit: { VLLM_MINIKUBE_CPUS: 8 }, error: /CONFIG_VLLM_MINIKUBE_CPUS=8 did not survive: its dependencies are not met \(depends on VLLM_K8S_MINIKUBE\)/ },
  { name: 'an option that does not exist', defconfig: 'vllm-local', edit: { VLLM_REPLICAS: 3 }, error: /CONFIG_VLLM_REPLICAS=3 did not survive: no such option/ },
  { name: 'declared hosts that do not match the nodes', defconfig: 'vllm-local', edit: { VLLM_DECLARED_HOSTS: 'a,b' }, error: /CONFIG_VLLM_DECLARED_HOSTS="a,b": names 2 host\(s\) for 1 node\(s\)/ },
  { name: 'a replica count other than the prefill plus decode engines', defconfig: 'vllm-local+pd', edit: { VLLM_REPLICA_COUNT: 3 }, error: /CONFIG_VLLM_REPLICA_COUNT=3: must be CONFIG_VLLM_PD_PREFILL_ENGINES \+ CONFIG_VLLM_PD_DECODE_ENGINES = 2 with disaggregated prefill/ },
  { name: 'LoRA A/B on Kubernetes', defconfig: 'vllm-existing-cluster+sim+lora', edit: { VLLM_BASELINE_AND_DEV: true }, error: /CONFIG_VLLM_LORA_ENABLED=y: is on with baseline and dev in one cluster, but the chart's LoRA controller finds where an adapter is loaded by its name on every pod of the cluster/ },
  { name: 'LoRA with disaggregated prefill on Kubernetes', defconfig: 'vllm+sim+pd', edit: { VLLM_LORA_ENABLED: true }, error: /CONFIG_VLLM_LORA_ENABLED=y: is on with disaggregated prefill, but on Kubernetes the chart's LoRA controller loads each adapter on the pods of one `model` label/ },
  { name: 'a session key that is no header name', defconfig: 'vllm-local', edit: { VLLM_ROUTER_SESSION_KEY: 'user id' }, error: /CONFIG_VLLM_ROUTER_SESSION_KEY="user id": does not match/ },
];

for (const c of INVALID) {
  test(`a hand-edited .config with ${c.name} stops with a message naming the symbol, leaving extra_vars.yaml as it was`, async (t) => {
    const why = await missing();
    if (why) return t.skip(why);
    const p = await tempProject();
    t.after(() => p.remove());
    await configure(p, c.defconfig);
    const before = await readFile(join(p.dir, 'extra_vars.yaml'), 'utf8');
    await p.setConfig(c.edit);
    const out = await p.make('extra_vars.yaml');
    assert.notEqual(out.exitCode, 0, 'make must fail');
    assert.match(out.stderr, c.error);
    assert.doesNotMatch(out.stderr, /\(now /, '".config left unchanged" and "now X" would contradict each other');
    assert.equal(await readFile(join(p.dir, 'extra_vars.yaml'), 'utf8'), before);
  });
}

test('switching a choice by hand in .config works: options it closes are noted, not refused', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  await configure(p, 'vllm-local');
  await p.setConfig({ VLLM_ENGINE_SIM: false, VLLM_ENGINE_VLLM: true });
  const out = await p.make('extra_vars.yaml');
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stderr, /note: CONFIG_VLLM_SIM_KV_BLOCKS=\d+ no longer applies: its dependencies are not met/);
  const vars = parse(await readFile(join(p.dir, 'extra_vars.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(vars.vllm_engine, 'vllm');
  assert.equal(vars.vllm_sim_kv_blocks, undefined);
  // A derived string edited by hand is still refused: it cannot be set.
  await p.setConfig({ VLLM_ENGINE: 'sim' });
  assert.match((await p.make('extra_vars.yaml')).stderr, /CONFIG_VLLM_ENGINE="sim" did not survive: it is derived from a choice/);
});

test('a fragment setting that does not survive the merge is reported, and .config is kept', async (t) => {
  const why = await missing();
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  await configure(p, 'vllm-local');
  const before = await readFile(join(p.dir, '.config'), 'utf8');
  const out = await tool(p, 'kconfig-apply', 'defconfig', 'vllm-local+sim');
  assert.equal(out.exitCode, 1);
  assert.match(out.stderr, /CONFIG_VLLM_REQUEST_CPU=1 did not survive: its dependencies are not met/);
  assert.equal(await readFile(join(p.dir, '.config'), 'utf8'), before);
  const unknown = await tool(p, 'kconfig-apply', 'defconfig', 'vllm-local+nope');
  assert.match(unknown.stderr, /no fragment defconfigs\/configs\/nope/);
});

test('ansible-inventory accepts the inventory, with two nodes under A/B', async (t) => {
  const why = (await missing()) ?? ((await which('ansible-inventory', { nothrow: true })) ? null : 'ansible-inventory is not installed');
  if (why) return t.skip(why);
  const p = await tempProject();
  t.after(() => p.remove());
  for (const [spec, hosts] of [['vllm-local', ['vllm-baseline']], ['vllm-local+ab', ['vllm-baseline', 'vllm-dev']]] as const) {
    await configure(p, spec);
    const out = await $({ cwd: p.dir, quiet: true })`ansible-inventory -i hosts --list`;
    const inv = JSON.parse(out.stdout) as { vllm: { children: string[] }; _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(Object.keys(inv._meta.hostvars).sort(), [...hosts]);
    // Both groups exist even on one node (no "Could not match supplied host pattern" from plays on baseline:dev).
    assert.deepEqual(inv.vllm.children.sort(), ['baseline', 'dev']);
    const base = inv._meta.hostvars['vllm-baseline'];
    assert.equal(base?.ansible_connection, 'local');
    assert.equal(base?.vllm_node_router_port, 8000);
    if (hosts.length === 2) {
      assert.equal(inv._meta.hostvars['vllm-dev']?.vllm_node_router_port, 8100);
    }
  }
});

test('secrets never land in .config or extra_vars.yaml: the options name files', async () => {
  const tree = readKconfigTree(join(REPO, 'Kconfig'));
  for (const name of tree.keys()) assert.doesNotMatch(name, /TOKEN$|API_KEY$|PASSWORD|SECRET/, `${name} would hold a secret`);
});

test('the committed schema is the one the Kconfig tree and the choice constants give', async () => {
  const tree = readKconfigTree(join(REPO, 'Kconfig'));
  assert.deepEqual(readSchema(), buildSchema(tree), 'schemas/extra-vars.schema.json is stale: run node dist/scripts/gen-schema.js');
});

test('every option and every choice member has help text; options and choices state their default', async () => {
  const files = (await readdir(join(REPO, 'kconfigs'))).filter((f) => f.startsWith('Kconfig.')).sort();
  const tree = readKconfigTree(join(REPO, 'Kconfig'));
  const text = (await Promise.all(files.map((f) => readFile(join(REPO, 'kconfigs', f), 'utf8')))).join('\n');
  for (const sym of tree.values()) {
    if (!sym.prompt) continue;
    const block = text.slice(text.indexOf(`config ${sym.name}\n`)).split(/\n(?=config |choice|endchoice|endif|endmenu|if )/)[0] ?? '';
    assert.match(block, /\n\thelp\n/, `${sym.name} has no help`);
    // A choice member's default is stated once, by its choice.
    if (!sym.choice) assert.match(block, /Default/i, `${sym.name}'s help does not state its default`);
  }
  for (const choice of text.split('\nchoice\n').slice(1)) {
    const header = choice.split(/\nconfig /)[0] ?? '';
    assert.match(header, /\n\thelp\n[\s\S]*Default/, `the choice "${/prompt "(.*)"/.exec(header)?.[1]}" has no help stating its default`);
  }
});


test('inventories always define both node groups, so plays on baseline:dev never warn on one node', () => {
  const one = renderNodesInventory([{ name: 'vllm-baseline', role: 'baseline', host: null }], '# test');
  assert.match(one, /\[baseline\]\nvllm-baseline ansible_connection=local\n\n\[dev\]\n\n\[vllm:children\]\nbaseline\ndev\n/);
  const two = renderNodesInventory([{ name: 'vllm-baseline', role: 'baseline', host: 'a.example' }, { name: 'vllm-dev', role: 'dev', host: null }], '# test');
  assert.match(two, /vllm-baseline ansible_host=a\.example\n/);
  assert.match(two, /\[dev\]\nvllm-dev ansible_connection=local\n/);
});

test('a .config value that is neither y, n, a number nor a quoted string names its setting and line', () => {
  assert.throws(() => parseDotConfig('CONFIG_VLLM_TARGET_LOCAL=y\nCONFIG_VLLM_API_PORT=80a0\n'), /\.config line 2: CONFIG_VLLM_API_PORT=80a0: the value is neither y, n, a number nor a "quoted string"; fix it with make menuconfig/);
});
