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

test('a task that runs the node tool takes "changed" from the tool\'s report line, and no two roles run the same command', async () => {
  const roles = join(REPO, 'playbooks', 'roles');
  const verbs = new Map<string, string>();
  for (const role of await readdir(roles)) {
    if (role === 'vllm_common') continue;
    const tasks = parse(await readFile(join(roles, role, 'tasks', 'main.yml'), 'utf8')) as { name: string; register?: string; changed_when?: unknown; 'ansible.builtin.command'?: { argv?: string } }[];
    for (const task of tasks) {
      const argv = task['ansible.builtin.command']?.argv;
      if (typeof argv !== 'string' || !argv.includes('vllm_node_tool +')) continue;
      const reads = `(${task.register}.stdout_lines | last | from_json).changed`;
      assert.ok(typeof task.changed_when === 'string' && task.changed_when.includes(reads), `${role}: "${task.name}" must read changed from the tool (${reads}), not say ${JSON.stringify(task.changed_when)}`);
      const verb = /vllm_node_tool \+ \[\s*'([a-z-]+)'/.exec(argv)?.[1] ?? /vllm_node_tool \+ \[\s*(\w+)/.exec(argv)?.[1] ?? '';
      assert.ok(!verbs.has(verb) || verbs.get(verb) === role, `${role} and ${verbs.get(verb)} both run vllm-node ${verb}: one role per concern, with a variable`);
      verbs.set(verb, role);
    }
  }
  assert.ok(verbs.size >= 10, `node tool tasks found: ${[...verbs.keys()].join(', ')}`);
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
  assert.equal(out.stdout, '\n▶ The play that runs\n  • Say something\n    node-x: hello from the tool\n  • Fail like a tool\n');
  assert.equal(out.stderr, '    ❌ node-x failed:\n    node-x: half way\n    node-x: error: the port is taken; stop it\n\n❌ failed: node-x (Fail like a tool)\n');
});
