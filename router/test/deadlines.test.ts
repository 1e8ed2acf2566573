// The request-timeout list: requests expire in deadline order, only once
// past their deadline, and a request that got its answer leaves the list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineSweep, type Expiring } from '../src/deadlines.js';

function waiting(name: string, deadline: number, expired: string[]): Expiring {
  return { deadline, sweepPrev: null, sweepNext: null, expire: () => expired.push(name) };
}

test('a sweep expires exactly the requests past their deadline, oldest first', () => {
  const expired: string[] = [];
  const sweep = new DeadlineSweep(1000);
  for (const [name, deadline] of [['a', 10], ['b', 20], ['c', 30]] as const) sweep.add(waiting(name, deadline, expired));
  sweep.sweep(5);
  assert.deepEqual(expired, []);
  sweep.sweep(20);
  assert.deepEqual(expired, ['a', 'b']);
  sweep.sweep(20);
  assert.deepEqual(expired, ['a', 'b'], 'an expired request is not expired twice');
  sweep.sweep(100);
  assert.deepEqual(expired, ['a', 'b', 'c']);
});

test('a request answered in time leaves the list, from its head, middle or tail, and twice is harmless', () => {
  const expired: string[] = [];
  const sweep = new DeadlineSweep(1000);
  const items = ['a', 'b', 'c', 'd', 'e'].map((name, i) => waiting(name, i, expired));
  for (const item of items) sweep.add(item);
  for (const i of [0, 2, 4, 2]) sweep.delete(items[i]!);
  sweep.delete(waiting('never added', 0, expired));
  sweep.sweep(100);
  assert.deepEqual(expired, ['b', 'd']);
  sweep.add(items[0]!);
  sweep.sweep(100);
  assert.deepEqual(expired, ['b', 'd', 'a'], 'the list still works once emptied');
});

test('started, a sweep expires a request within its lateness of the deadline, and one answered in time not at all', async () => {
  const expired: string[] = [];
  const sweep = new DeadlineSweep(5);
  sweep.start();
  const t0 = performance.now();
  const late: number[] = [];
  const answered = waiting('answered', t0 + 30, expired);
  sweep.add(answered);
  sweep.add({ ...waiting('hung', t0 + 60, expired), expire: () => { expired.push('hung'); late.push(performance.now() - (t0 + 60)); } });
  sweep.delete(answered);
  // Timers fire in the order they are due, so the sweep's (due by 65 ms) runs before this one however busy the machine.
  await new Promise((resolve) => setTimeout(resolve, 200));
  sweep.stop();
  assert.deepEqual(expired, ['hung']);
  assert.ok(late[0]! >= 0, 'not before its deadline');
});

test('a sweep for a timeout notices a passed deadline within 50 ms, however long the timeout', () => {
  // At a 10 s --request-timeout a sweep once a second made 504s up to a second late: all of the margin a client allows.
  for (const timeoutMs of [300, 10_000, 600_000]) assert.ok(DeadlineSweep.within(timeoutMs).lateMs <= 50, `${timeoutMs} ms`);
});
