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
  assert.throws(() => parseOptions(['--static-backends', 'http://a:8000', '--static-models', 'm,m'], {}), /--static-models names 2 value\(s\) for 1 backend/);
  assert.throws(() => parseOptions(['--routing-logic', 'fastest'], {}), /routing logic "fastest" is not one of roundrobin/);
  assert.throws(() => parseOptions(['--max-concurrency', '0'], {}), /--max-concurrency 0: expected a whole number of at least 1/);
  assert.equal((parseOptions(['--service-discovery', 'k8s', '--k8s-namespace', 'vllm'], {}) as RouterOptions).k8s.namespace, 'vllm');
  assert.throws(() => parseOptions(['--service-discovery', 'k8s', '--static-backends', 'http://a:8000'], {}), /--static-backends lists engines, but --service-discovery k8s finds them in Kubernetes/);
  assert.throws(() => parseOptions(['--service-discovery', 'dns'], {}), /--service-discovery dns: expected static or k8s/);
  assert.throws(() => parseOptions(['--service-discovery', 'k8s', '--k8s-label-selector', 'a=b,'], {}), /--k8s-label-selector a=b,: "" is not a label selector requirement/);
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
  assert.deepEqual(both.backends, [{ url: 'http://a:8000', models: ['m'], label: 'default', modelType: null }, { url: 'http://b:8001', models: ['n'], label: 'default', modelType: null }]);
  assert.deepEqual(parseDynamicConfig('{"static_backends": "", "static_models": ""}', 'dyn.json').backends, [], 'an explicit empty list empties');
  assert.throws(() => parseDynamicConfig('{"static_models": "m"}', 'dyn.json'), /static_backends and static_models go together/);
  assert.throws(() => parseDynamicConfig('{"static_backends": "http://a:8000/v1", "static_models": "m"}', 'dyn.json'), /has a path/);
  assert.throws(() => parseDynamicConfig('{"routing_logic": 3}', 'dyn.json'), /routing_logic must be a string/);
  assert.throws(() => parseDynamicConfig('{"backends": "x"}', 'dyn.json'), /unknown key "backends"/);
  assert.throws(() => parseDynamicConfig('{oops', 'dyn.json'), /dyn.json is not valid JSON/);
  assert.throws(() => parseDynamicConfig('- a\n- b\n', 'dyn.yaml'), /must hold an object/);
});

test('every production-stack flag is implemented, accepted without effect, or refused with the reason; never "unknown option"', () => {
  // The flags of production-stack's parser (src/vllm_router/parsers/parser.py), with a value where they take one.
  const productionStack: [string, string | null][] = [
    ['--host', '0.0.0.0'], ['--port', '8001'], ['--root-path', '/vllm'], ['--service-discovery', 'static'], ['--k8s-service-discovery-type', 'pod-ip'],
    ['--static-backends', 'http://a:8000'], ['--static-models', 'm'], ['--static-aliases', 'x:m'], ['--static-model-types', 'chat'],
    ['--static-model-labels', 'l'], ['--static-backend-health-checks', null], ['--static-backend-health-check-interval', '60'],
    ['--static-backend-health-check-timeout-seconds', '10'], ['--k8s-port', '8000'], ['--k8s-namespace', 'default'], ['--k8s-label-selector', 'a=b'],
    ['--k8s-watcher-timeout-seconds', '0'], ['--backend-health-check-timeout-seconds', '10'], ['--routing-logic', 'roundrobin'],
    ['--lmcache-controller-port', '9000'], ['--lmcache-controller-reply-port', '9001'], ['--lmcache-controller-heartbeat-port', '9002'],
    ['--session-key', 'x-user-id'], ['--callbacks', 'mod.cb'], ['--request-rewriter', 'noop'], ['--enable-batch-api', null],
    ['--file-storage-class', 'local_file'], ['--file-storage-path', '/tmp/f'], ['--batch-processor', 'local'], ['--engine-stats-interval', '30'],
    ['--request-stats-window', '60'], ['--log-stats', null], ['--log-stats-interval', '10'], ['--dynamic-config-json', 'c.json'],
    ['--semantic-cache-model', 'all-MiniLM-L6-v2'], ['--semantic-cache-dir', 'sc'], ['--semantic-cache-threshold', '0.95'], ['--feature-gates', ''],
    ['--log-level', 'warning'], ['--log-format', 'json'], ['--sentry-dsn', 'https://k@sentry'], ['--sentry-traces-sample-rate', '0.1'],
    ['--sentry-profile-session-sample-rate', '1'], ['--otel-endpoint', 'localhost:4317'], ['--otel-service-name', 'r'], ['--otel-secure', null],
    ['--kv-aware-threshold', '2000'], ['--prefix-min-match-length', '0'],
    ['--max-instance-failover-reroute-attempts', '0'], ['--lmcache-health-check-interval', '5'], ['--lmcache-worker-timeout', '30'],
    ['--external-providers-config', 'p.yaml'], ['--version', null],
  ];
  const refused = new Set(['--callbacks', '--enable-batch-api', '--sentry-dsn', '--otel-endpoint', '--external-providers-config']);
  for (const [flag, value] of productionStack) {
    // One backend, so that the per-backend lists have their one value each.
    const args = [...(flag === '--static-backends' ? [] : ['--static-backends', 'http://a:8000']), flag, ...(value === null ? [] : [value])];
    if (refused.has(flag)) {
      assert.throws(() => parseOptions(args, {}), (err: Error) => err.message.startsWith(`${flag}`) && /is not supported by this router, because \S/.test(err.message), flag);
    } else {
      assert.doesNotThrow(() => parseOptions(args, {}), flag);
    }
  }
  assert.equal(parseOptions(['--version'], {}), 'version');
  assert.throws(() => parseOptions(['--feature-gates', 'SemanticCache=true'], {}), /--feature-gates SemanticCache=true is not supported by this router, because the experimental features/);
  for (const logic of ['disaggregated_prefill', 'disaggregated_prefill_orchestrated']) {
    const o = parseOptions(['--routing-logic', logic, '--prefill-model-labels', 'p1,p2', '--decode-model-labels', 'd'], {}) as RouterOptions;
    assert.deepEqual(o.pdLabels, { prefill: ['p1', 'p2'], decode: ['d'] });
    assert.throws(() => parseOptions(['--routing-logic', logic, '--prefill-model-labels', 'p'], {}), /needs --prefill-model-labels and --decode-model-labels/);
    assert.throws(() => parseOptions(['--routing-logic', logic, '--prefill-model-labels', 'x', '--decode-model-labels', 'x'], {}), /label x is in both/);
  }
  assert.throws(() => parseOptions(['--prefill-model-labels', 'p', '--decode-model-labels', 'd'], {}), /only serve --routing-logic disaggregated_prefill or disaggregated_prefill_orchestrated, not roundrobin/);
  assert.throws(() => parseOptions(['--service-discovery', 'external-only'], {}), /not supported by this router, because only vLLM engines/);
  assert.throws(() => parseOptions(['--no-such-flag'], {}), /Unknown option '--no-such-flag'/, 'a flag production-stack does not have either is still unknown');
});

test('the implemented production-stack flags: model types and labels per backend, root path, log levels, health-check timing', () => {
  const o = parseOptions(['--static-backends', 'http://a:8000,http://b:8000', '--static-models', 'm,m', '--static-model-types', 'chat,embeddings',
    '--static-model-labels', 'prefill,decode', '--root-path', '/vllm/', '--log-level', 'trace', '--static-backend-health-check-interval', '5'], {}) as RouterOptions;
  assert.deepEqual(o.staticModelTypes, ['chat', 'embeddings']);
  assert.deepEqual(o.staticModelLabels, ['prefill', 'decode']);
  assert.equal(o.rootPath, '/vllm');
  assert.equal(o.logLevel, 'debug');
  assert.equal(o.staticBackendHealthCheckInterval, 5);
  assert.equal((parseOptions(['--log-level', 'critical'], {}) as RouterOptions).logLevel, 'critical');
  assert.equal((parseOptions(['--log-level', 'warning'], {}) as RouterOptions).logLevel, 'warn');
  assert.throws(() => parseOptions(['--static-backends', 'http://a:8000', '--static-model-types', 'chat,chat'], {}), /--static-model-types names 2 value\(s\) for 1 backend/);
  assert.throws(() => parseOptions(['--static-backends', 'http://a:8000', '--static-model-types', 'poetry'], {}), /model type "poetry" is not one of chat, completion/);
  assert.throws(() => parseOptions(['--root-path', 'vllm'], {}), /--root-path vllm: expected a path like \/vllm/);
  assert.throws(() => parseOptions(['--log-level', 'loud'], {}), /--log-level loud: expected one of trace, debug/);
});

test('the router\'s own bounds: defaults, decimals for its time flags, and refusals naming the flag', () => {
  const d = parseOptions([], {}) as RouterOptions;
  assert.deepEqual([d.maxConnections, d.clientRequestTimeout, d.streamIdleTimeout, d.drainTimeout, d.outlierConsecutive5xx, d.outlierEjectionTime], [8192, 60, 300, 10, 0, 30]);
  const o = parseOptions(['--client-request-timeout', '0.25', '--stream-idle-timeout', '1.5', '--drain-timeout', '2', '--outlier-consecutive-5xx', '5', '--outlier-ejection-time', '0.5', '--request-timeout', '0.75'], {}) as RouterOptions;
  assert.deepEqual([o.clientRequestTimeout, o.streamIdleTimeout, o.drainTimeout, o.outlierConsecutive5xx, o.outlierEjectionTime, o.requestTimeout], [0.25, 1.5, 2, 5, 0.5, 0.75]);
  assert.throws(() => parseOptions(['--stream-idle-timeout', '0'], {}), /--stream-idle-timeout 0: expected a number of seconds from 0.01 to 2147483/);
  assert.throws(() => parseOptions(['--request-timeout', '3000000'], {}), /--request-timeout 3000000: expected a number of seconds from 0.01 to 2147483 \(24.8 days, the longest timer Node keeps\)/);
  assert.equal((parseOptions(['--request-timeout', '2147483'], {}) as RouterOptions).requestTimeout, 2147483);
  assert.throws(() => parseOptions(['--drain-timeout', 'soon'], {}), /--drain-timeout soon: expected a number of seconds/);
  assert.throws(() => parseOptions(['--max-connections', '0'], {}), /--max-connections 0: expected a whole number of at least 1/);
  assert.equal(d.prefixLoadWeight, 0.5);
  assert.equal((parseOptions(['--prefix-load-weight', '0'], {}) as RouterOptions).prefixLoadWeight, 0, '0: the longest match wins');
  assert.throws(() => parseOptions(['--prefix-load-weight=-1'], {}), /--prefix-load-weight -1: expected a number of at least 0/);
});
