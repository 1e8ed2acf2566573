// Bring-up's checks of declared hosts fail before anything is shipped, each
// with the message that says what to do: here baseline's host has too little
// disk (the threshold set above what any disk has) and dev's host refuses SSH
// (its sshd stopped), in one make bringup over two SSH test hosts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eToolsMissing } from './support/configure.js';
import { declaredProject, makeSshHosts, sshHostsMissing, type SshHost } from './support/ssh-hosts.js';

test('bring-up refuses a host with too little disk and a host that refuses SSH, naming the fix, shipping nothing', { timeout: 300_000 }, async (t) => {
  const missing = (await sshHostsMissing()) ?? (await e2eToolsMissing());
  if (missing) return t.skip(missing);
  const hosts = await makeSshHosts(2);
  t.after(() => hosts.remove());
  const { p } = await declaredProject(hosts, 'vllm-declared-hosts+ab', { VLLM_NODE_MIN_FREE_DISK_MB: 16777216 });
  t.after(() => p.remove());
  const [a, b] = hosts.hosts as [SshHost, SshHost];
  await hosts.stopSsh(b);

  const out = await p.make('bringup');
  const text = out.stdout + out.stderr;
  assert.notEqual(out.exitCode, 0, text);
  assert.match(text, /vllm-baseline: \d+ MiB free in \S+vllm-harness, 16777216 MiB needed \(CONFIG_VLLM_NODE_MIN_FREE_DISK_MB[^)]*\): free space there, or point CONFIG_VLLM_NODE_DIR at a larger disk \(make menuconfig\); then run make bringup again\./, text);
  assert.match(text, new RegExp(`vllm-dev: cannot reach ${b.address.replace(/\./g, '\\.')} over SSH: .*Connection refused.*Make \`ssh ${b.address.replace(/\./g, '\\.')} true\` work from this machine`), text);
  assert.ok(!existsSync(join(a.privateDir, 'vllm-harness', 'bundle')), 'nothing was shipped to the host with too little disk');
  assert.ok(!existsSync(join(p.dir, '.bringup.done')), 'bring-up is not recorded as done');
});
