// The cluster double against the real helm and the real production-stack
// chart: it refuses what a real API server refuses (objects failing their
// schema, unknown kinds, writes into missing namespaces), and helm installs,
// lists, shows and uninstalls the chart with each of production-stack's own
// end-to-end values files, every object accepted. One double for the file;
// the installs run in sequence.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { $ } from 'zx';
import { ClusterDouble, prometheusOperatorCrds } from './support/cluster-double.js';
import type { KubeObject } from './support/kube-api-server.js';
import { referenceChartDir, referenceDir } from './support/reference.js';
import { REPO } from './support/temp-project.js';

const HELM = join(REPO, '.tools', 'bin', 'helm');

function missing(): string | null {
  if (!existsSync(HELM)) return '.tools/bin/helm is missing (make deps)';
  if (!referenceChartDir()) return 'the reference chart ../shared/reference/vllm-stack-0.1.12 is missing';
  return null;
}

async function double(t: { after: (fn: () => Promise<unknown>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'cluster-double-'));
  const cluster = await ClusterDouble.start();
  t.after(() => Promise.all([cluster.close(), rm(dir, { recursive: true, force: true })]));
  const kubeconfig = await cluster.writeKubeconfig(join(dir, 'kubeconfig'));
  const helm = (args: string[]) => $({ quiet: true, nothrow: true })`${HELM} ${args} --kubeconfig ${kubeconfig}`;
  return { cluster, dir, kubeconfig, helm };
}

const send = (url: string, method: string, body: unknown) => fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('the cluster double refuses an object failing its schema, an unknown kind and a write into a missing namespace, as a real API server does; helm reports each', async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const { cluster, dir, helm } = await double(t);
  const deployment = (replicas: unknown) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example/web:1' }] } } },
  });

  // Over HTTP: 422 with the field named, 404 for a kind nobody serves and for a missing namespace.
  let res = await send(`${cluster.url}/apis/apps/v1/namespaces/default/deployments`, 'POST', deployment('two'));
  assert.equal(res.status, 422);
  assert.match(((await res.json()) as { message: string }).message, /Deployment\.apps "web" is invalid: .*replicas/);
  res = await send(`${cluster.url}/apis/apps/v1/namespaces/default/deployments`, 'POST', { ...deployment(1), metadata: { name: 'Web_1' } });
  assert.equal(res.status, 422, 'a name that is not a DNS subdomain');
  res = await send(`${cluster.url}/apis/example.com/v1/namespaces/default/widgets`, 'POST', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
  assert.equal(res.status, 404);
  res = await send(`${cluster.url}/apis/apps/v1/namespaces/nowhere/deployments`, 'POST', deployment(1));
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { message: string }).message, /namespaces "nowhere" not found/);
  res = await send(`${cluster.url}/apis/apps/v1/namespaces/default/deployments`, 'POST', deployment(1));
  assert.equal(res.status, 201, 'the valid one is stored');
  assert.ok(cluster.api.get('Deployment', 'default', 'web'));

  // Through real helm: a chart with an invalid object, then one with an unknown kind, each fails naming it; nothing is left half-installed.
  const chart = async (name: string, manifest: string) => {
    const at = join(dir, name);
    await mkdir(join(at, 'templates'), { recursive: true });
    await writeFile(join(at, 'Chart.yaml'), `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`);
    await writeFile(join(at, 'templates', 'objects.yaml'), manifest);
    return at;
  };
  const invalid = await chart('invalid', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: "eighty"\n');
  let out = await helm(['upgrade', '--install', 'bad', invalid, '--namespace', 'default', '--wait', '--timeout', '20s']);
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, /Service\.core "svc" is invalid: .*port/);
  const unknown = await chart('unknown', 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n');
  out = await helm(['upgrade', '--install', 'odd', unknown, '--namespace', 'default', '--wait', '--timeout', '20s']);
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, /no matches for kind "Widget" in version "example\.com\/v1"/);
  assert.equal(cluster.api.get('Service', 'default', 'svc'), undefined);
});

/** kind/namespace/name of each object a manifest holds. */
const ids = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null)
  .map((o) => `${o.kind}/${o.metadata.name}`).sort();

test("real helm installs, lists, shows and uninstalls the production-stack chart with each of production-stack's own test values files, every object accepted", async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const chartDir = referenceChartDir() as string;
  const valuesDir = join(referenceDir() as string, 'vllm-stack-0.1.12-test-values');
  const { cluster, helm } = await double(t);
  const files = (await readdir(valuesDir)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 9, `production-stack's test values in ${valuesDir}`);
  for (const file of files) {
    const release = `t${file.slice(7, 9)}`;
    const namespace = `ns-${release}`;
    const install = ['upgrade', '--install', release, chartDir, '--namespace', namespace, '--create-namespace', '--values', join(valuesDir, file)];
    let out = await helm(install);
    if (file.includes('monitoring')) {
      // ServiceMonitors need prometheus-operator's CRDs: refused without them, as on a cluster without kube-prometheus-stack.
      assert.notEqual(out.exitCode, 0, file);
      assert.match(out.stderr, /no matches for kind "ServiceMonitor" in version "monitoring\.coreos\.com\/v1"/, file);
      for (const crd of prometheusOperatorCrds()) cluster.api.put(crd);
      out = await helm(install);
    }
    assert.equal(out.exitCode, 0, `${file}: ${out.stderr}`);
    const manifest = await helm(['get', 'manifest', release, '--namespace', namespace]);
    // What the controllers made (ReplicaSets, pods: they have owners) and what helm keeps (Events, release Secrets) aside.
    const stored = cluster.api.everything(namespace).filter((o) => !o.metadata.ownerReferences && o.kind !== 'Event' && !o.metadata.name.startsWith('sh.helm.release.'));
    assert.deepEqual(stored.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ids(manifest.stdout), `${file}: every rendered object is in the double`);
    // Their images are real vLLM and production-stack's Python router: Pending, each with the reason in an event.
    const pods = cluster.api.list('Pod', namespace);
    assert.ok(pods.length > 0, file);
    for (const pod of pods) {
      assert.equal((pod.status as { phase: string }).phase, 'Pending', `${file}: ${pod.metadata.name}`);
      const why = cluster.api.list('Event', namespace).filter((e) => (e.involvedObject as { name: string }).name === pod.metadata.name && e.type === 'Warning');
      assert.ok(why.some((e) => (e.reason === 'FailedScheduling' && /Insufficient (cpu|memory)/.test(String(e.message))) || (e.reason === 'Failed' && /runs only this project's image/.test(String(e.message)))),
        `${file}: ${pod.metadata.name} has a Warning event saying why it is Pending: ${JSON.stringify(why.map((e) => e.message))}`);
    }
    const status = JSON.parse((await helm(['status', release, '--namespace', namespace, '--output', 'json'])).stdout) as { info: { status: string } };
    assert.equal(status.info.status, 'deployed', file);
    const list = JSON.parse((await helm(['list', '--all-namespaces', '--output', 'json'])).stdout) as { name: string }[];
    assert.deepEqual(list.map((r) => r.name), [release], file);
    out = await helm(['uninstall', release, '--namespace', namespace, '--wait', '--ignore-not-found']);
    assert.equal(out.exitCode, 0, `${file}: ${out.stderr}`);
    // helm waits for what it deleted; the pods terminate after, as on a cluster.
    const left = () => cluster.api.everything(namespace).filter((o) => o.kind !== 'Event');
    for (const until = Date.now() + 10_000; left().length > 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(left().map((o) => `${o.kind}/${o.metadata.name}`), [], `${file}: nothing left after uninstall but Events, which expire`);
  }
  assert.ok(cluster.api.get('CustomResourceDefinition', undefined, 'loraadapters.production-stack.vllm.ai'), "the chart's CRD stays, as helm leaves crds/ installed");
});

test('npm run cluster-double -- --kubeconfig FILE serves the double on its own until stopped: helm reaches it through the kubeconfig it writes; SIGTERM stops it', async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const dir = await mkdtemp(join(tmpdir(), 'cluster-double-main-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(process.execPath, [join(REPO, 'dist', 'test', 'support', 'cluster-double-main.js'), '--kubeconfig', kubeconfig, '--cpus', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  for (const end = Date.now() + 30_000; !out.includes('kubeconfig:');) {
    assert.ok(Date.now() < end && child.exitCode === null, `the double did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(out, /node: 2 CPUs, 16384 MiB/);
  const list = await $({ quiet: true, nothrow: true })`${HELM} list --all-namespaces --kubeconfig ${kubeconfig}`;
  assert.equal(list.exitCode, 0, list.stderr);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.match(out, /SIGTERM: stopping every pod process/);
});
