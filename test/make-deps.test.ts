// make deps on a machine that has everything says nothing: no "make[1]: ... is up to date".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { which } from 'zx';
import { tempProject } from './support/temp-project.js';

test('make deps with everything installed prints nothing', { timeout: 60_000 }, async (t) => {
  for (const tool of ['ansible-playbook', 'kconfig-conf', 'kconfig-mconf', 'promtool', 'unzip', 'chromium', '/usr/sbin/sshd']) {
    if (!(await which(tool, { nothrow: true }))) return t.skip(`${tool} is not installed: make deps would install it`);
  }
  const p = await tempProject();
  t.after(() => p.remove());
  const out = await p.make('deps');
  assert.equal(out.exitCode, 0, out.stderr);
  assert.equal(`${out.stdout}${out.stderr}`, '');
});
