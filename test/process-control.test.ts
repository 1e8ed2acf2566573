import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRunning, readPidFile, startDetached, stopProcess } from '../scripts/lib/stack/process-control.js';

const sleeper = (marker: string) => ({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', '--', '--id', marker] });

test('a detached process is found again by its pid file and stopped gracefully', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec = { ...sleeper('one'), logFile: join(dir, 'logs/one.log'), pidFile: join(dir, 'pids/one.pid') };
  const started = await startDetached(spec, ['--id', 'one']);
  const again = await readPidFile(spec.pidFile);
  assert.deepEqual(again, started);
  assert.equal(isRunning(started), true);
  await stopProcess(started, 'graceful', 2000);
  assert.equal(isRunning(started), false);
  assert.equal(await readFile(spec.logFile, 'utf8'), '');
});

test('a recycled pid is not mistaken for ours: the marker must match whole arguments', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = await startDetached({ ...sleeper('engine-10'), logFile: join(dir, 'l.log'), pidFile: join(dir, 'p.pid') }, ['--id', 'engine-10']);
  t.after(() => stopProcess(rec, 'kill'));
  assert.equal(isRunning({ ...rec, marker: ['--id', 'engine-1'] }), false, 'engine-1 must not match engine-10');
  assert.equal(isRunning({ ...rec, marker: ['--id', 'engine-10'] }), true);
  await stopProcess(rec, 'kill');
  assert.equal(isRunning(rec), false);
});

test('a pid file that is not ours is rejected with a message saying what to do', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'x.pid'), '{"pid": 12}');
  await assert.rejects(readPidFile(join(dir, 'x.pid')), /not a pid file written by this harness; remove it/);
  assert.equal(await readPidFile(join(dir, 'missing.pid')), null);
});

test('starting a program that does not exist fails clearly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(
    startDetached({ command: join(dir, 'no-such-program'), args: [], logFile: join(dir, 'l.log'), pidFile: join(dir, 'p.pid') }, ['x']),
    /cannot start .*no-such-program/,
  );
});

test('a stopped process\'s cleanup runs, whether it was killed, stopped, or had already exited (a container its client left)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cleanup = (name: string) => [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(join(dir, name))}, 'removed\\n')`];
  const killed = await startDetached({ ...sleeper('c1'), logFile: join(dir, 'c1.log'), pidFile: join(dir, 'c1.pid') }, ['--id', 'c1'], cleanup('c1'));
  assert.deepEqual((await readPidFile(join(dir, 'c1.pid')))?.cleanup, cleanup('c1'), 'recorded, so a later command finds it');
  await stopProcess(killed, 'kill');
  assert.equal(await readFile(join(dir, 'c1'), 'utf8'), 'removed\n');
  await stopProcess(killed, 'graceful');
  assert.equal(await readFile(join(dir, 'c1'), 'utf8'), 'removed\nremoved\n', 'gone already: the cleanup runs anyway');
  const failing = await startDetached({ ...sleeper('c2'), logFile: join(dir, 'c2.log'), pidFile: join(dir, 'c2.pid') }, ['--id', 'c2'], [process.execPath, '-e', 'console.error("daemon down"); process.exit(3)']);
  await assert.rejects(stopProcess(failing, 'graceful', 2000), /failed \(exit 3\): daemon down/);
  assert.equal(isRunning(failing), false);
});
