// A node step lives no longer than the lock it borrows: when the command
// holding the lock is killed outright (SIGKILL: it could not stop its run),
// the step beneath it is told to stop; a step started for a holder that is
// gone refuses to run instead of taking the lock over.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireNodeLock, LOCK_HOLDER_ENV, lockHolder } from '../scripts/lib/deployment/node-lock.js';

const LOCK_MODULE = fileURLToPath(new URL('../scripts/lib/deployment/node-lock.js', import.meta.url));

test('a step under a lock holder that is SIGKILLed is sent SIGTERM within a few seconds', { timeout: 30_000 }, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'lock-gone-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const ref = JSON.stringify({ node: 'vllm-baseline', stateDir });
  // The step: borrows its parent's lock, says so, and reports the SIGTERM it gets.
  const step = `
    const { acquireNodeLock } = await import(${JSON.stringify(LOCK_MODULE)});
    await acquireNodeLock(${ref}, 'vllm-node test');
    process.on('SIGTERM', () => { console.log('step: SIGTERM'); process.exit(0); });
    console.log('step: borrowed');
    setInterval(() => {}, 1000);`;
  // The holder: takes the lock and starts the step, passing its output on.
  const holder = `
    const { spawn } = await import('node:child_process');
    const { acquireNodeLock } = await import(${JSON.stringify(LOCK_MODULE)});
    await acquireNodeLock(${ref}, 'make vllm');
    const c = spawn(process.execPath, ['--input-type=module', '-e', ${JSON.stringify(step)}], { stdio: ['ignore', 'inherit', 'inherit'] });
    console.log('holder: step ' + c.pid);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', holder], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone already.
    }
  });
  let out = '';
  const seen = (text: string) => new Promise<void>((resolve) => {
    const check = () => (out.includes(text) ? resolve() : undefined);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    check();
  });
  await seen('step: borrowed');
  assert.equal((await lockHolder({ node: 'vllm-baseline', stateDir }))?.command, 'make vllm');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await seen('step: SIGTERM');
  t.diagnostic(`the step was told to stop ${Date.now() - killedAt} ms after its holder was killed`);
  assert.equal(await lockHolder({ node: 'vllm-baseline', stateDir }), null, 'the dead holder holds nothing');
});

test('a step started for a holder that is gone refuses to run, naming why', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'lock-gone-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const saved = process.env[LOCK_HOLDER_ENV];
  t.after(() => {
    if (saved === undefined) delete process.env[LOCK_HOLDER_ENV];
    else process.env[LOCK_HOLDER_ENV] = saved;
  });
  process.env[LOCK_HOLDER_ENV] = '999999999 0';
  await assert.rejects(acquireNodeLock({ node: 'vllm-baseline', stateDir }, 'vllm-node bench'), /the command that started this step \(pid 999999999\) has ended, so this step does not run/);
  assert.equal(await lockHolder({ node: 'vllm-baseline', stateDir }), null);
});
