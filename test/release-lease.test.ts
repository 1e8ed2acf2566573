// The cluster-side lock of a Helm release (scripts/lib/targets/kube/release-lease.ts):
// the decision alone, then Leases on the Kubernetes API test server as a real
// API server keeps them (optimistic concurrency, namespaces that must exist),
// a node step refused while another project holds the release, and status
// saying who holds it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { $ } from 'zx';
import { nodeReleaseNames } from '../scripts/lib/helm/values.js';
import { formatKubeStatus, kubeNodeStatus } from '../scripts/lib/targets/kube/kube-status.js';
import { holdReleaseLease, LEASE_SECONDS, leaseDecision, leaseName, ReleaseBusyError, type LeaseHolder } from '../scripts/lib/targets/kube/release-lease.js';
import { configureProject, kconfigMissing } from './support/configure.js';
import { KubeApiServer, type KubeObject } from './support/kube-api-server.js';
import { until } from './support/loopback.js';
import { REPO, tempProject } from './support/temp-project.js';

const NS = 'vllm';
const me: LeaseHolder = { user: 'ana', host: 'box-a', project: '/home/ana/harness', pid: 10, command: 'vllm-node deploy' };
const colleague: LeaseHolder = { user: 'ben', host: 'box-b', project: '/home/ben/harness', pid: 20, command: 'vllm-node test --run-id r1' };
const NOW = Date.parse('2026-12-01T12:00:00Z');

function spec(holder: LeaseHolder | string | undefined, renewedAgoS: number) {
  return { holderIdentity: typeof holder === 'string' || holder === undefined ? holder : JSON.stringify(holder), leaseDurationSeconds: LEASE_SECONDS, renewTime: new Date(NOW - renewedAgoS * 1000) };
}

test('a lease is taken when there is none, it is free or expired; kept by its own project on its host; busy otherwise, saying until when', () => {
  assert.deepEqual(leaseDecision(null, me, NOW), { kind: 'take' });
  assert.deepEqual(leaseDecision(spec(undefined, 1), me, NOW), { kind: 'take' }, 'freed by teardown');
  assert.deepEqual(leaseDecision(spec(colleague, LEASE_SECONDS + 1), me, NOW), { kind: 'take' }, 'not renewed for its duration: its holder is gone');
  assert.deepEqual(leaseDecision(spec({ ...me, pid: 99, command: 'vllm-node smoke' }, 5), me, NOW), { kind: 'mine' }, 'the previous step of the same run');
  assert.deepEqual(leaseDecision(spec({ ...me, host: 'box-b' }, 5), me, NOW).kind, 'busy', 'the same path on another machine is another checkout');
  assert.deepEqual(leaseDecision(spec(colleague, 30), me, NOW), { kind: 'busy', holder: colleague, renewedAgoS: 30, freeInS: LEASE_SECONDS - 30 });
  const foreign = leaseDecision(spec('some-controller-7f9c', 30), me, NOW);
  assert.equal(foreign.kind, 'busy', 'a holder this harness did not write is respected');
  assert.equal(foreign.kind === 'busy' && foreign.holder.host, 'some-controller-7f9c');
});

async function cluster(t: { after: (fn: () => Promise<void>) => void }, options = {}) {
  const server = await KubeApiServer.start({ requireNamespaces: true, ...options });
  t.after(() => server.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig(NS));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const createNamespace = () => core.createNamespace({ body: { metadata: { name: NS } } });
  const lease = () => server.get('Lease', NS, leaseName('rel')) as (KubeObject & { spec: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }) | undefined;
  return { server, kc, createNamespace, lease };
}

test('on the API server: deploy takes the lease (making the namespace), another project is refused naming the holder, the same project goes on, release frees it', async (t) => {
  const { kc, createNamespace, lease } = await cluster(t);
  const none = await holdReleaseLease(kc, NS, 'rel', me, {});
  await none.stop();
  assert.equal(lease(), undefined, 'no namespace and not deploying: nothing is deployed, no lease is made');
  const held = await holdReleaseLease(kc, NS, 'rel', me, { createNamespace });
  await held.stop();
  assert.deepEqual(JSON.parse(lease()?.spec.holderIdentity ?? '{}'), me);
  assert.equal(lease()?.spec.leaseDurationSeconds, LEASE_SECONDS);
  await assert.rejects(holdReleaseLease(kc, NS, 'rel', colleague, {}), (err: ReleaseBusyError) => {
    assert.equal(err.code, 'RELEASE_BUSY');
    assert.match(err.message, /release rel in namespace vllm is in use by ana@box-a \(project \/home\/ana\/harness\): "vllm-node deploy" \(pid 10\) renewed its lease \d+ s ago/);
    assert.match(err.message, /kubectl -n vllm get lease rel-harness-lock -o yaml/);
    return true;
  });
  const next = await holdReleaseLease(kc, NS, 'rel', { ...me, pid: 11, command: 'vllm-node teardown' }, {});
  assert.equal(JSON.parse(lease()?.spec.holderIdentity ?? '{}').command, 'vllm-node teardown', 'the next step of the same project holds it now');
  await next.release();
  assert.equal(lease()?.spec.holderIdentity, undefined);
  await (await holdReleaseLease(kc, NS, 'rel', colleague, {})).stop();
  assert.equal(JSON.parse(lease()?.spec.holderIdentity ?? '{}').user, 'ben', 'free after release');
});

test('on the API server: a held lease is renewed while its step runs; an expired one is taken over; of two takers at once exactly one wins', async (t) => {
  const { server, kc, createNamespace, lease } = await cluster(t);
  await createNamespace();
  const held = await holdReleaseLease(kc, NS, 'rel', me, { renewMs: 30 });
  const first = Date.parse(lease()?.spec.renewTime ?? '');
  await until('a renewal', () => Date.parse(lease()?.spec.renewTime ?? '') > first);
  await held.stop();
  assert.match(lease()?.spec.renewTime ?? '', /\.\d{6}Z$/, 'MicroTime, as the API server parses it');
  const stale = lease() as KubeObject & { spec: Record<string, unknown> };
  server.put({ ...stale, spec: { ...stale.spec, renewTime: new Date(Date.now() - (LEASE_SECONDS + 5) * 1000).toISOString() } });
  await (await holdReleaseLease(kc, NS, 'rel', colleague, {})).stop();
  assert.equal(JSON.parse(lease()?.spec.holderIdentity ?? '{}').user, 'ben', 'taken over from a holder that stopped renewing');
  server.remove('Lease', NS, leaseName('rel'));
  const third: LeaseHolder = { ...colleague, user: 'cy', project: '/home/cy/harness' };
  const results = await Promise.allSettled([holdReleaseLease(kc, NS, 'rel', me, {}), holdReleaseLease(kc, NS, 'rel', third, {})]);
  for (const r of results) if (r.status === 'fulfilled') await r.value.stop();
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof ReleaseBusyError));
});

/** A vllm+sim project beside a Kubernetes API test server, its baseline node and a kubeconfig for the server; the caller skips first when kconfig is missing. */
async function kubeProject(t: { after: (fn: () => Promise<unknown>) => void }) {
  const p = await tempProject();
  const dir = await mkdtemp(join(tmpdir(), 'release-lease-'));
  t.after(() => Promise.all([p.remove(), rm(dir, { recursive: true, force: true })]));
  const config = await configureProject(p, 'vllm+sim');
  const loaded = config.nodes[0];
  assert.ok(loaded);
  const names = nodeReleaseNames(config.vars, loaded.node);
  const server = await KubeApiServer.start({ anonymous: true });
  t.after(() => server.close());
  const kubeconfig = await server.writeKubeconfig(join(dir, 'kubeconfig'), names.namespace);
  /** Puts the release's Lease as `holder` renewed `renewedAgoS` ago. */
  const held = (holder: LeaseHolder, renewedAgoS: number) => server.put({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaseName(names.release), namespace: names.namespace },
    spec: { holderIdentity: JSON.stringify(holder), leaseDurationSeconds: LEASE_SECONDS, renewTime: new Date(Date.now() - renewedAgoS * 1000).toISOString() } });
  return { p, loaded, names, server, kubeconfig, held };
}

test('a Kubernetes node step is refused while another project holds its release, before touching the release', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const { p, names, server, kubeconfig, held } = await kubeProject(t);
  held(colleague, 0);
  const before = server.requests.length;
  const out = await $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, VLLM_KUBECONFIG: kubeconfig, VLLM_K8S_CONTEXT: 'test' } })`node ${join(REPO, 'dist/scripts/vllm-node.js')} teardown --node vllm-baseline`;
  assert.notEqual(out.exitCode, 0);
  assert.match(out.stderr, new RegExp(`release ${names.release} in namespace ${names.namespace} is in use by ben@box-b \\(project /home/ben/harness\\): "vllm-node test --run-id r1"`));
  assert.deepEqual(server.requests.slice(before).map((r) => `${r.method} ${r.path}`), [`GET /apis/coordination.k8s.io/v1/namespaces/${names.namespace}/leases/${leaseName(names.release)}`], 'nothing but the lease was read');
});

test('status names who holds the release: another project with when it is free, or this project', async (t) => {
  const why = await kconfigMissing();
  if (why) return t.skip(why);
  const { p, loaded, kubeconfig, held } = await kubeProject(t);
  const vars = { ...loaded.vars, vllm_kubeconfig: kubeconfig, vllm_k8s_context: 'test' };
  const ctx = { ...loaded, vars, topdir: p.dir };
  assert.equal((await kubeNodeStatus(ctx)).lock, null, 'no lease: nothing said');
  held(colleague, 40);
  const busy = await kubeNodeStatus(ctx);
  assert.equal(busy.lock?.mine, false);
  assert.ok(Math.abs((busy.lock?.free_in_s ?? 0) - (LEASE_SECONDS - 40)) <= 2);
  assert.match(formatKubeStatus(busy), /🔒 in use by ben@box-b \(project \/home\/ben\/harness\): "vllm-node test --run-id r1" \(pid 20\), renewed 4\d s ago, free in 2\d\d s/);
  assert.ok(busy.hints.some((h) => h.startsWith('another project holds this release')));
  held({ ...colleague, host: hostname(), project: p.dir }, 5);
  assert.match(formatKubeStatus(await kubeNodeStatus(ctx)), /🔒 held by this project, renewed \d s ago/);
  held(colleague, LEASE_SECONDS + 1);
  assert.equal((await kubeNodeStatus(ctx)).lock, null, 'expired: free');
});
