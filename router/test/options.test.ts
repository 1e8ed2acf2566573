// Command-line flags and the dynamic config file: what is accepted, and what
// a mistake is told.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeUrl, parseDynamicConfig, parseOptions, type RouterOptions } from '../src/index.js';

test('backends are accepted as users write them, and a path is refused with the fix', () => {
  assert.equal(normalizeUrl('http://engine-0:8000'), 'http://engine-0:8000');
  assert.equal(normalizeUrl('127.0.0.1:8100/'), 'http://127.0.0.1:8100');
  assert.equal(normalizeUrl(' https://gpu-box:443 '), 'https://gpu-box');
  assert.throws(() => normalizeUrl('http://engine-0:8000/v1'), /has a path; give the engine's base URL/);
  assert.throws(() => normalizeUrl('ftp://x'), /only http and https/);
});

test('production-stack flags parse, with defaults, and mistakes name the flag', () => {
  const o = parseOptions(['--static-backends', 'http://a:8000,http://b:8000', '--static-models', 'm,m', '--routing-logic', 'kvaware', '--session-key', 'x-tenant'], {}) as RouterOptions;
  assert.deepEqual(o.staticBackends, ['http://a:8000', 'http://b:8000']);
  assert.equal(o.routingLogic, 'kvaware');
  assert.equal(o.port, 8001);
  assert.equal(o.maxInstanceFailoverRerouteAttempts, 1, 'failover is on by default');
  assert.equal(parseOptions(['--help'], {}), 'help');
  assert.throws(() => parseOptions(['--static-backends', 'http://a:8000', '--static-models', 'm,m'], {}), /names 2 model\(s\) for 1 backend/);
  assert.throws(() => parseOptions(['--routing-logic', 'fastest'], {}), /routing logic "fastest" is not one of roundrobin/);
  assert.throws(() => parseOptions(['--max-concurrency', '0'], {}), /--max-concurrency 0: expected a whole number of at least 1/);
  assert.throws(() => parseOptions(['--service-discovery', 'k8s'], {}), /only static discovery/);
  assert.equal((parseOptions([], { VLLM_ROUTER_API_KEY: 'k', VLLM_API_KEY: 'e' }) as RouterOptions).apiKey, 'k');
  assert.deepEqual((parseOptions(['--static-aliases', 'small:llama3:8b,opt:facebook/opt-125m'], {}) as RouterOptions).staticAliases, { small: 'llama3:8b', opt: 'facebook/opt-125m' });
  assert.throws(() => parseOptions(['--static-aliases', 'nocolon'], {}), /alias "nocolon" is not ALIAS:MODEL/);
});

test('a dynamic config changes only what it names; a bad one is refused with the reason', () => {
  const routingOnly = parseDynamicConfig('routing_logic: session\nsession_key: x-tenant\n', 'dyn.yaml');
  assert.equal(routingOnly.backends, null, 'no static_backends: the backends stay');
  assert.equal(routingOnly.routingLogic, 'session');
  assert.equal(parseDynamicConfig('{"prefix_min_match_length": 64}', 'dyn.json').prefixMinMatchLength, 64);
  const both = parseDynamicConfig('{"static_backends": "http://a:8000,b:8001", "static_models": "m,n"}', 'dyn.json');
  assert.deepEqual(both.backends, [{ url: 'http://a:8000', models: ['m'] }, { url: 'http://b:8001', models: ['n'] }]);
  assert.deepEqual(parseDynamicConfig('{"static_backends": "", "static_models": ""}', 'dyn.json').backends, [], 'an explicit empty list empties');
  assert.throws(() => parseDynamicConfig('{"static_models": "m"}', 'dyn.json'), /static_backends and static_models go together/);
  assert.throws(() => parseDynamicConfig('{"static_backends": "http://a:8000/v1", "static_models": "m"}', 'dyn.json'), /has a path/);
  assert.throws(() => parseDynamicConfig('{"routing_logic": 3}', 'dyn.json'), /routing_logic must be a string/);
  assert.throws(() => parseDynamicConfig('{"backends": "x"}', 'dyn.json'), /unknown key "backends"/);
  assert.throws(() => parseDynamicConfig('{oops', 'dyn.json'), /dyn.json is not valid JSON/);
  assert.throws(() => parseDynamicConfig('- a\n- b\n', 'dyn.yaml'), /must hold an object/);
});
