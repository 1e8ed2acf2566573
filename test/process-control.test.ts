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
