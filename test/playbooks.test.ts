import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { $, which } from 'zx';
import { parse } from 'yaml';
import { REPO } from './support/temp-project.js';

test('the playbooks pass ansible-playbook --syntax-check', async (t) => {
  if (!(await which('ansible-playbook', { nothrow: true }))) return t.skip('ansible-playbook is not installed (make deps installs ansible-core)');
  const dir = await mkdtemp(join(tmpdir(), 'syntax-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'hosts'), '[baseline]\nvllm-baseline ansible_connection=local\n[vllm:children]\nbaseline\n');
  for (const playbook of ['bringup.yml', 'vllm.yml']) {
    const out = await $({ nothrow: true, quiet: true, cwd: REPO })`ansible-playbook --syntax-check -i ${join(dir, 'hosts')} ${join('playbooks', playbook)}`;
    assert.equal(out.exitCode, 0, `${playbook}: ${out.stdout}${out.stderr}`);
  }
});

test('every variable a role reads from the node tool is declared in vllm_common defaults, and roles swallow no failure', async () => {
  const roles = join(REPO, 'playbooks', 'roles');
  const defaults = parse(await readFile(join(roles, 'vllm_common', 'defaults', 'main.yml'), 'utf8')) as Record<string, unknown>;
  for (const role of await readdir(roles)) {
    if (role === 'vllm_common') continue;
    const tasks = await readFile(join(roles, role, 'tasks', 'main.yml'), 'utf8');
    assert.doesNotMatch(tasks, /ignore_errors|failed_when:\s*false|\|\|\s*true|2>\/dev\/null/, `${role} swallows a failure`);
    const meta = parse(await readFile(join(roles, role, 'meta', 'main.yml'), 'utf8')) as { dependencies: { role: string }[] };
    assert.deepEqual(meta.dependencies, [{ role: 'vllm_common' }], `${role} depends on vllm_common for its defaults`);
    for (const used of tasks.matchAll(/\b(vllm_(?:node_tool(?:_args)?|topdir|run_id|results_dir|state_dir))\b/g)) {
      assert.ok(used[1] && used[1] in defaults, `${role} reads ${used[1]}, which vllm_common does not declare`);
    }
  }
});

test('Ansible output is plain: no empty play, no skipped task, a debug message as lines, a failure as the tool\'s own words', async (t) => {
  if (!(await which('ansible-playbook', { nothrow: true }))) return t.skip('ansible-playbook is not installed (make deps installs ansible-core)');
  const dir = await mkdtemp(join(tmpdir(), 'callback-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'hosts'), '[baseline]\nnode-x ansible_connection=local\n[dev]\n');
  await writeFile(join(dir, 'pb.yml'), [
    '- name: A play no host matches', '  hosts: dev', '  gather_facts: false', '  tasks:', '    - name: Never shown', '      ansible.builtin.command: "true"',
    '- name: The play that runs', '  hosts: all', '  gather_facts: false', '  tasks:',
    '    - name: Skipped by its condition', '      ansible.builtin.command: "true"', '      when: false',
    '    - name: Say something', '      ansible.builtin.command: echo hello from the tool', '      register: out', '      changed_when: false',
    '    - name: Show it', '      ansible.builtin.debug:', '        msg: "{{ out.stdout_lines }}"',
    '    - name: Fail like a tool', '      ansible.builtin.command:', `        argv: [sh, -c, 'echo "node-x: half way"; echo "error: the port is taken; stop it" >&2; exit 1']`,
  ].join('\n') + '\n');
  const out = await $({ nothrow: true, quiet: true, cwd: dir, env: { ...process.env, ANSIBLE_CONFIG: join(REPO, 'ansible.cfg') } })`ansible-playbook -i hosts pb.yml`;
  assert.equal(out.exitCode, 2);
  // Ansible's recap closes it, a line per node: what changed (a second bring-up: changed=0).
  assert.equal(out.stdout, '\n▶ The play that runs\n  • Say something\n    node-x: hello from the tool\n  • Fail like a tool\n\n  node-x: ok=2 changed=0 unreachable=0 failed=1 skipped=1\n');
  assert.equal(out.stderr, '    ❌ node-x failed:\n    node-x: half way\n    node-x: error: the port is taken; stop it\n\n❌ failed: node-x (Fail like a tool)\n');
});
