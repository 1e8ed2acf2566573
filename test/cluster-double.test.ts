// The cluster double against the real helm and the real production-stack
// chart: it refuses what a real API server refuses (objects failing their
// schema, unknown kinds, writes into missing namespaces, unknown fields by the
// request's fieldValidation), and helm installs,
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
const KUBECTL = join(REPO, '.tools', 'bin', 'kubectl');

function missing(): string | null {
  if (!existsSync(HELM) || !existsSync(KUBECTL)) return '.tools/bin/helm or kubectl is missing (make deps)';
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

test("unknown fields: refused by fieldValidation=Strict (real helm's server-side apply and kubectl apply ask for it; an apply refuses them whatever it asks), warned of by default, dropped from what is stored", async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const { cluster, dir, kubeconfig, helm } = await double(t);
  const web = (extra: Record<string, unknown>) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas: 1, ...extra, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example/web:1' }] } } },
  });
  const deployments = `${cluster.url}/apis/apps/v1/namespaces/default/deployments`;
  const message = async (res: Response) => ((await res.json()) as { message: string }).message;
  let res = await send(`${deployments}?fieldValidation=Strict`, 'POST', web({ replicass: 2 }));
  assert.equal(res.status, 400);
  assert.equal(await message(res), 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass"');
  // A field given twice (JSON.parse would keep the last silently): named, as the strict decoder does.
  const twice = JSON.stringify(web({})).replace('"replicas":1', '"replicas":1,"replicas":2');
  res = await fetch(`${deployments}?fieldValidation=Strict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: twice });
  assert.equal(res.status, 400);
  assert.equal(await message(res), 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "spec.replicas"');
  res = await send(`${deployments}?fieldValidation=Sloppy`, 'POST', web({}));
  assert.equal(res.status, 422);
  assert.match(await message(res), /fieldValidation: Unsupported value: "Sloppy": supported values: "", "Ignore", "Strict", "Warn"/);
  // No directive is Warn: stored without the field, a Warning header naming it.
  res = await send(deployments, 'POST', web({ replicass: 2 }));
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('warning'), '299 - "unknown field \\"spec.replicass\\""');
  assert.equal((cluster.api.get('Deployment', 'default', 'web')?.spec as Record<string, unknown>).replicass, undefined);
  res = await fetch(`${deployments}/web?fieldValidation=Strict`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { paused: false, pasued: true } }) });
  assert.equal(res.status, 400);
  assert.equal(await message(res), 'strict decoding error: unknown field "spec.pasued"');
  res = await fetch(`${deployments}/web?fieldValidation=Ignore`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { pasued: true } }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('warning'), null);
  assert.equal((cluster.api.get('Deployment', 'default', 'web')?.spec as Record<string, unknown>).pasued, undefined);
  res = await fetch(`${deployments}/web?fieldManager=t&fieldValidation=Ignore`, { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: JSON.stringify(web({ replicass: 2 })) });
  assert.equal(res.status, 500, 'an apply cannot make a typed object of it (kubernetes#139253: a 500, not a 400)');
  assert.equal(await message(res), 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicass: field not declared in schema');

  // kubectl apply validates strictly by default; --validate=warn creates, printing the server's warning.
  const manifest = join(dir, 'typo.yaml');
  await writeFile(manifest, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndata:\n  a: "1"\nbinaryDta:\n  b: eA==\n');
  let out = await $({ quiet: true, nothrow: true })`${KUBECTL} --kubeconfig ${kubeconfig} apply -f ${manifest}`;
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, /Error from server \(BadRequest\).*ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "binaryDta"/);
  out = await $({ quiet: true, nothrow: true })`${KUBECTL} --kubeconfig ${kubeconfig} apply --validate=warn -f ${manifest}`;
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stderr, /Warning: unknown field "binaryDta"/);

  // Real helm, the real chart: a misspelt field in a values override (the chart passes containerSecurityContext through) fails the install with the server's message; spelt right, it installs.
  const chart = referenceChartDir() as string;
  const values = join(referenceDir() as string, 'vllm-stack-0.1.12-test-values', 'values-01-2pods-minimal-example.yaml');
  const install = (set: string) => helm(['upgrade', '--install', 'typo', chart, '--namespace', 'default', '--values', values, '--set', set]);
  out = await install('routerSpec.containerSecurityContext.runAsNonRot=true');
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, /failed to create typed patch object \(default\/typo-deployment-router; apps\/v1, Kind=Deployment\): \.spec\.template\.spec\.containers\[name="router-container"\]\.securityContext\.runAsNonRot: field not declared in schema/);
  out = await install('routerSpec.containerSecurityContext.runAsNonRoot=true');
  assert.equal(out.exitCode, 0, out.stderr);
  const router = cluster.api.get('Deployment', 'default', 'typo-deployment-router')?.spec as { template: { spec: { containers: { securityContext?: unknown }[] } } };
  assert.deepEqual(router.template.spec.containers[0]?.securityContext, { runAsNonRoot: true });
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
