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
  // Ansible's recap closes it, a line per node: what changed (a second bring-up: changed=0).
  assert.equal(out.stdout, '\n▶ The play that runs\n  • Say something\n    node-x: hello from the tool\n  • Fail like a tool\n\n  node-x: ok=2 changed=0 unreachable=0 failed=1 skipped=1\n');
  assert.equal(out.stderr, '    ❌ node-x failed:\n    node-x: half way\n    node-x: error: the port is taken; stop it\n\n❌ failed: node-x (Fail like a tool)\n');
});

/** A playbook of the engine install role alone, on this machine, as bring-up includes it. */
async function engineInstallProject(t: { after: (fn: () => Promise<void>) => void }, hostVars = '') {
  const dir = await mkdtemp(join(tmpdir(), 'engine-install-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'hosts'), `[baseline]\nvllm-baseline ansible_connection=local ansible_python_interpreter=/usr/bin/python3 ${hostVars}\n[dev]\n[vllm:children]\nbaseline\ndev\n`);
  await writeFile(join(dir, 'pb.yml'), '- name: Install the engine\n  hosts: baseline\n  gather_facts: false\n  roles:\n    - role: vllm_engine_install\n');
  const play = async (vars: Record<string, unknown>, opts: { check?: boolean; path?: string } = {}) => {
    await writeFile(join(dir, 'vars.json'), JSON.stringify({ vllm_target: 'local', vllm_engine: 'vllm', ...vars }));
    const env = { ...process.env, ANSIBLE_ROLES_PATH: join(REPO, 'playbooks', 'roles'), ANSIBLE_STDOUT_CALLBACK: 'default', ANSIBLE_NOCOLOR: '1', PATH: opts.path ?? process.env.PATH ?? '' };
    const out = await $({ nothrow: true, quiet: true, cwd: dir, env })`ansible-playbook -i hosts pb.yml -e @vars.json ${opts.check ? ['--check'] : []}`;
    const recap = /vllm-baseline\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(out.stdout);
    return { out, text: out.stdout + out.stderr, changed: Number(recap?.[2] ?? -1), failed: Number(recap?.[3] ?? -1) };
  };
  return { dir, play };
}

test('engine install, venv: check mode would create the venv with the pinned vllm, and touches nothing', async (t) => {
  if (!(await which('ansible-playbook', { nothrow: true }))) return t.skip('ansible-playbook is not installed (make deps installs ansible-core)');
  const { dir, play } = await engineInstallProject(t);
  const venv = join(dir, 'venv');
  const r = await play({ vllm_engine_install: 'venv', vllm_version: '0.11.0', vllm_venv_dir: venv }, { check: true });
  assert.equal(r.failed, 0, r.text);
  assert.equal(r.changed, 1, `the venv does not exist, so pip would create it:\n${r.text}`);
  assert.match(r.text, /TASK \[vllm_engine_install : vLLM of the pinned version in the venv[^\]]*\][ *]*\nchanged: \[vllm-baseline\]/);
  assert.match(r.text, /TASK \[vllm_engine_install : Install python3-venv[^\]]*\][ *]*\nskipping/, 'the venv module is there, so no sudo is asked for');
  await assert.rejects(readFile(join(venv, 'bin', 'activate'), 'utf8'), 'check mode creates nothing');
});

test('engine install, container: the image is pulled when missing (changed), not again (ok), and a daemon that does not answer fails with its words', async (t) => {
  if (!(await which('ansible-playbook', { nothrow: true }))) return t.skip('ansible-playbook is not installed (make deps installs ansible-core)');
  const { dir, play } = await engineInstallProject(t, 'vllm_node_engine_image_tag=v0.11.1');
  // A stand-in for docker that answers as docker does (no daemon runs here); it logs its arguments.
  const bin = join(dir, 'bin');
  await $({ quiet: true })`mkdir -p ${bin}`;
  await writeFile(join(bin, 'docker'), `#!/bin/sh
echo "$*" >> "${join(dir, 'docker.log')}"
[ -f "${join(dir, 'down')}" ] && { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1; }
case "$1" in
  image) [ -f "${join(dir, 'pulled')}" ] && { echo sha256:0123; exit 0; }; echo "Error response from daemon: No such image: $6" >&2; exit 1;;
  pull) touch "${join(dir, 'pulled')}"; echo "Status: Downloaded newer image for $2";;
esac
`, { mode: 0o755 });
  const vars = { vllm_engine_install: 'container', vllm_container_runtime: 'docker', vllm_engine_image_repo: 'vllm/vllm-openai', vllm_engine_image_tag: 'v0.11.0' };
  const path = `${bin}:${process.env.PATH ?? ''}`;
  const first = await play(vars, { path });
  assert.equal(first.failed, 0, first.text);
  assert.equal(first.changed, 1, first.text);
  const second = await play(vars, { path });
  assert.equal(second.changed, 0, `a pinned tag already pulled is not pulled again:\n${second.text}`);
  const log = await readFile(join(dir, 'docker.log'), 'utf8');
  assert.equal(log.match(/^pull /gm)?.length, 1);
  assert.match(log, /^pull vllm\/vllm-openai:v0\.11\.1$/m, 'the node\'s own tag (the dev node of an A/B of two builds)');
  await writeFile(join(dir, 'down'), '');
  const down = await play(vars, { path });
  assert.equal(down.failed, 1);
  assert.match(down.text, /Cannot connect to the Docker daemon/);
});
