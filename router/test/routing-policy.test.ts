// The routing policy a dynamic config changes, on its own: what a change
// takes, what it refuses, and the words the router logs for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoutingPolicy, type RoutingSettings } from '../src/routing/routing-policy.js';

const START: RoutingSettings = { routingLogic: 'roundrobin', prefixMinMatchLength: 0, sessionKey: 'x-user-id', aliases: {} };

test('a change names what changed; the algorithm follows the logic, the header the session key', () => {
  const p = new RoutingPolicy({ ...START }, 0.5, false);
  const warnings: string[] = [];
  assert.equal(p.algorithm.name, 'roundrobin');
  assert.deepEqual(p.update({ routingLogic: 'prefixaware', prefixMinMatchLength: 8, sessionKey: 'X-Session', aliases: { gpt: 'opt' } }, (m) => warnings.push(m)),
    ['routing prefixaware (prefix min match 8)', 'session key X-Session']);
  assert.equal(p.logic, 'prefixaware');
  assert.equal(p.algorithm.name, 'prefixaware');
  assert.equal(p.sessionHeader, 'x-session');
  assert.deepEqual(p.aliases, { gpt: 'opt' });
  assert.equal(warnings.length, 0);
  const before = p.algorithm;
  assert.deepEqual(p.update({ routingLogic: null, prefixMinMatchLength: null, sessionKey: null, aliases: null }, (m) => warnings.push(m)), []);
  assert.equal(p.algorithm, before, 'an unchanged logic keeps its algorithm (and what it learnt)');
});

test('a disaggregated logic is refused, with a warning, when the router has no prefill and decode pools', () => {
  const warnings: string[] = [];
  const p = new RoutingPolicy({ ...START }, 0.5, false);
  assert.deepEqual(p.update({ routingLogic: 'disaggregated_prefill' }, (m) => warnings.push(m)), []);
  assert.equal(p.logic, 'roundrobin');
  assert.match(warnings[0] ?? '', /needs the router started with --prefill-model-labels and --decode-model-labels; keeping roundrobin/);
  const ready = new RoutingPolicy({ ...START }, 0.5, true);
  assert.deepEqual(ready.update({ routingLogic: 'disaggregated_prefill' }, (m) => warnings.push(m)), ['routing disaggregated_prefill (prefix min match 0)']);
  assert.equal(warnings.length, 1);
});
