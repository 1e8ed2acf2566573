// Command-line flags, compatible with the production-stack router's: its
// flags are implemented, or accepted without effect, or refused with the
// reason (production-stack-flags.ts); the bounds that protect the router are
// its own flags.
import { parseArgs } from 'node:util';
import { MODEL_TYPES, type ModelType } from './discovery/backend-spec.js';
import { K8S_FLAGS, K8S_USAGE, parseK8sOptions, type K8sDiscoveryOptions } from './discovery/k8s-options.js';
import { FOREIGN_FLAGS, refusal } from './production-stack-flags.js';
import { isDisaggregated, PREFIX_DEFAULTS, ROUTING_LOGICS, type PoolLabels, type RoutingLogic } from './routing/index.js';
import type { Level } from './logger.js';

export interface RouterOptions {
  host: string;
  port: number;
  /** Served under this path prefix too (production-stack's --root-path); '' for none. */
  rootPath: string;
  serviceDiscovery: 'static' | 'k8s';
  /** Kubernetes discovery's settings (parsed, and so checked, whichever discovery is chosen). */
  k8s: K8sDiscoveryOptions;
  staticBackends: string[];
  staticModels: string[];
  staticAliases: Record<string, string>;
  /** One per backend, or empty. */
  staticModelTypes: ModelType[];
  /** One per backend, or empty. */
  staticModelLabels: string[];
  staticBackendHealthChecks: boolean;
  /** Seconds between active health checks. */
  staticBackendHealthCheckInterval: number;
  /** Seconds an active health check may take. */
  staticBackendHealthCheckTimeout: number;
  routingLogic: RoutingLogic;
  /** Disaggregated prefill: the `model` labels of the prefill and of the decode engines (empty otherwise). */
  pdLabels: PoolLabels;
  sessionKey: string;
  prefixMinMatchLength: number;
  /** prefixaware: the cost of one request of load against a full hit on the prompt's uncached part; 0 = longest match wins. */
  prefixLoadWeight: number;
  /** Prefer engines where a request's LoRA adapter is likely in a GPU slot already. */
  loraAffinity: boolean;
  engineStatsInterval: number;
  requestStatsWindow: number;
  maxInstanceFailoverRerouteAttempts: number;
  maxBodySize: number;
  maxConcurrency: number;
  maxConnections: number;
  /** Seconds an engine may take to send response headers. */
  requestTimeout: number;
  /** Seconds a client may take to send a whole request, head and body. */
  clientRequestTimeout: number;
  /** Seconds a response may go without a byte from the engine, or without the client taking one. */
  streamIdleTimeout: number;
  /** Seconds in-flight requests may take to finish after SIGTERM. */
  drainTimeout: number;
  /** Consecutive 5xx answers that eject an engine; 0 = never. */
  outlierConsecutive5xx: number;
  /** Seconds of a first 5xx ejection (doubling on each further one, up to 10×). */
  outlierEjectionTime: number;
  apiKey: string | null;
  engineApiKey: string | null;
  dynamicConfigFile: string | null;
  logFormat: 'text' | 'json';
  logLevel: Level;
}

export const USAGE = `usage: vllm-router [options]

OpenAI-compatible request router for vLLM engines (production-stack compatible flags).

  --host HOST                                   listen address (default 127.0.0.1)
  --port N                                      listen port, 0 = any free one (default 8001)
  --root-path PATH                              also serve every route under PATH (for example /vllm)
  --service-discovery static|k8s                how engines are found: the --static-backends list, or Kubernetes pods (default static)
  --static-backends URL[,URL]                   engine base URLs
  --static-models M[,M]                         model served by each backend, in the same order
  --static-aliases ALIAS:MODEL[,...]            other names for models
  --static-model-types T[,T]                    each backend's model type (${MODEL_TYPES.join(', ')}): what a health check sends
  --static-model-labels L[,L]                   each backend's label, shown in /engines
  --static-backend-health-checks                check every backend periodically, out of rotation while it fails
  --static-backend-health-check-interval S      seconds between checks (default 60)
  --static-backend-health-check-timeout-seconds S   seconds a check may take (default 10)
${K8S_USAGE}
  --routing-logic roundrobin|session|prefixaware|leastloaded|kvaware|disaggregated_prefill|disaggregated_prefill_orchestrated   (default roundrobin)
  --prefill-model-labels L[,L]                  disaggregated prefill: the model labels of the prefill engines
  --decode-model-labels L[,L]                   disaggregated prefill: the model labels of the decode engines
                                                (a pod's \`model\` label, or --static-model-labels)
  --session-key NAME                            header or body field naming the session (default x-user-id)
  --prefix-min-match-length N                   prefix matches shorter than N characters count as cold (default 0)
  --prefix-load-weight W                        prefixaware: cost of a request of load against a full cache hit (default 0.5; 0 = longest match wins)
  --lora-affinity                               adapter requests prefer engines whose GPU slots likely hold the adapter (off by default)
  --engine-stats-interval S                     scrape each engine's /metrics and /v1/models every S seconds (default 30)
  --request-stats-window S                      window of per-engine QPS and latency (default 60)
  --max-instance-failover-reroute-attempts N    retries on another engine when a connection fails (default 1)
  --max-body-size BYTES                         larger bodies get 413 (default 10485760)
  --max-concurrency N                           proxied requests in flight before 429 (default 4096)
  --max-connections N                           client connections open at once; more are closed (default 8192)
  --request-timeout S                           no engine response headers within S seconds gets 504 (default 600)
  --client-request-timeout S                    a client's whole request (head and body) within S seconds, or 408 (default 60)
  --stream-idle-timeout S                       a response with no byte moving for S seconds is ended (default 300)
  --drain-timeout S                             on SIGTERM, in-flight requests may finish for S seconds (default 10)
  --outlier-consecutive-5xx N                   eject an engine after N 5xx answers in a row; 0 = never (default 0)
  --outlier-ejection-time S                     how long the first such ejection lasts (default 30)
  --api-key KEY                                 clients must send Authorization: Bearer KEY (also VLLM_ROUTER_API_KEY)
  --dynamic-config-json FILE | --dynamic-config-yaml FILE   watched file whose changes apply without a restart
  --log-format text|json                        (default text)
  --log-level debug|info|warn|error|critical    (default info; warn hides per-request lines; also trace, warning)
  --version                                     print the version and exit
  -h, --help
Time values in seconds may have decimals unless they are production-stack's.
The engines' API key is taken from VLLM_API_KEY and sent to them.
Other production-stack flags are accepted without effect or refused with the reason (router/README.md).`;

/** production-stack's log level names, as this router's. */
const LOG_LEVELS: Record<string, Level> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', critical: 'critical' };

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} ${text}: expected a whole number of at least ${min}`);
  return v;
}

/** Seconds, decimals allowed, at least 0.01 (every bound must be able to fire). */
/** The longest time flag: a Node timer's limit, 2^31-1 ms. */
const MAX_SECONDS = 2_147_483;

function seconds(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  // Node fires a timer longer than 2^31-1 ms at once: a request timeout of weeks would expire every request.
  if (text.trim() === '' || !Number.isFinite(v) || v < 0.01 || v > MAX_SECONDS) throw new Error(`--${name} ${text}: expected a number of seconds from 0.01 to ${MAX_SECONDS} (24.8 days, the longest timer Node keeps)`);
  return v;
}

/** A non-negative number. */
function weight(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new Error(`--${name} ${text}: expected a number of at least 0`);
  return v;
}

export function normalizeUrl(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new Error(`backend "${raw}" is not a URL; write it like http://127.0.0.1:8000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`backend "${raw}": only http and https are supported`);
  // Requests keep their own path (/v1/...), so a backend is a host and port only.
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search) throw new Error(`backend "${raw}" has a path; give the engine's base URL, like http://127.0.0.1:8000`);
  return `${url.protocol}//${url.host}`;
}

export function parseList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseAliases(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of parseList(text)) {
    // Split at the first colon only: model names may hold one (llama3:8b).
    const at = pair.indexOf(':');
    const alias = pair.slice(0, at);
    const model = pair.slice(at + 1);
    if (at < 0 || !alias || !model) throw new Error(`alias "${pair}" is not ALIAS:MODEL`);
    out[alias] = model;
  }
  return out;
}

export function parseRoutingLogic(text: string): RoutingLogic {
  if (!(ROUTING_LOGICS as readonly string[]).includes(text)) throw new Error(`routing logic "${text}" is not one of ${ROUTING_LOGICS.join(', ')}`);
  return text as RoutingLogic;
}

/** The two pools' labels: both needed by the disaggregated logics, refused by the others (they would be read by nothing). */
export function parsePdLabels(logic: RoutingLogic, prefill: string | undefined, decode: string | undefined): PoolLabels {
  const labels = { prefill: parseList(prefill), decode: parseList(decode) };
  if (!isDisaggregated(logic)) {
    if (prefill !== undefined || decode !== undefined) throw new Error(`--prefill-model-labels and --decode-model-labels only serve --routing-logic disaggregated_prefill or disaggregated_prefill_orchestrated, not ${logic}`);
    return labels;
  }
  if (labels.prefill.length === 0 || labels.decode.length === 0) throw new Error(`--routing-logic ${logic} needs --prefill-model-labels and --decode-model-labels: the model labels (pod label \`model\`, or --static-model-labels) of the prefill and of the decode engines`);
  const both = labels.prefill.filter((l) => labels.decode.includes(l));
  if (both.length > 0) throw new Error(`label ${both.join(', ')} is in both --prefill-model-labels and --decode-model-labels; an engine serves one leg`);
  return labels;
}

export function parseModelTypes(text: string | undefined, what: string): ModelType[] {
  return parseList(text).map((t) => {
    if (!(MODEL_TYPES as readonly string[]).includes(t)) throw new Error(`${what}: model type "${t}" is not one of ${MODEL_TYPES.join(', ')}`);
    return t as ModelType;
  });
}

/** A per-backend list: empty, or exactly one entry per backend. */
export function perBackend<T>(list: T[], backends: number, what: string): T[] {
  if (list.length > 0 && list.length !== backends) throw new Error(`${what} names ${list.length} value(s) for ${backends} backend(s); give one per backend`);
  return list;
}

export function parseRootPath(text: string | undefined): string {
  const path = (text ?? '').trim().replace(/\/+$/, '');
  if (path !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(path)) throw new Error(`--root-path ${text}: expected a path like /vllm`);
  return path;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): RouterOptions | 'help' | 'version' {
  const s = { type: 'string' } as const;
  const b = { type: 'boolean' } as const;
  const foreign = Object.fromEntries(FOREIGN_FLAGS.map((f) => [f.name, f.value ? s : b]));
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      ...foreign,
      ...K8S_FLAGS,
      host: s, port: s, 'root-path': s, 'service-discovery': s, 'static-backends': s, 'static-models': s, 'static-aliases': s,
      'static-model-types': s, 'static-model-labels': s, 'static-backend-health-checks': b, 'static-backend-health-check-interval': s,
      'static-backend-health-check-timeout-seconds': s, 'routing-logic': s, 'prefill-model-labels': s, 'decode-model-labels': s, 'session-key': s, 'prefix-min-match-length': s, 'prefix-load-weight': s,
      'lora-affinity': b, 'engine-stats-interval': s, 'request-stats-window': s, 'max-instance-failover-reroute-attempts': s,
      'max-body-size': s, 'max-concurrency': s, 'max-connections': s, 'request-timeout': s, 'client-request-timeout': s,
      'stream-idle-timeout': s, 'drain-timeout': s, 'outlier-consecutive-5xx': s, 'outlier-ejection-time': s, 'api-key': s,
      'dynamic-config-json': s, 'dynamic-config-yaml': s, 'log-format': s, 'log-level': s, version: b, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return 'help';
  if (v.version) return 'version';
  const given = v as Record<string, string | boolean | undefined>;
  for (const flag of FOREIGN_FLAGS) {
    const value = given[flag.name];
    const refused = value === undefined ? null : refusal(flag, value);
    if (refused) throw new Error(refused);
  }
  const discovery = v['service-discovery'] ?? 'static';
  if (discovery === 'external-only') throw new Error('--service-discovery external-only is not supported by this router, because only vLLM engines are routed to, not external providers');
  if (discovery !== 'static' && discovery !== 'k8s') throw new Error(`--service-discovery ${discovery}: expected static or k8s`);
  const backends = parseList(v['static-backends']).map(normalizeUrl);
  if (discovery === 'k8s' && backends.length > 0) throw new Error('--static-backends lists engines, but --service-discovery k8s finds them in Kubernetes: give one or the other');
  const models = perBackend(parseList(v['static-models']), backends.length, '--static-models');
  const logFormat = v['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new Error(`--log-format ${logFormat}: expected text or json`);
  const logLevel = LOG_LEVELS[v['log-level'] ?? 'info'];
  const routingLogic = parseRoutingLogic(v['routing-logic'] ?? 'roundrobin');
  const pdLabels = parsePdLabels(routingLogic, v['prefill-model-labels'], v['decode-model-labels']);
  if (!logLevel) throw new Error(`--log-level ${v['log-level']}: expected one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  return {
    host: v.host ?? '127.0.0.1',
    port: int('port', v.port, 8001, 0),
    rootPath: parseRootPath(v['root-path']),
    serviceDiscovery: discovery,
    k8s: parseK8sOptions(v),
    staticBackends: backends,
    staticModels: models,
    staticAliases: parseAliases(v['static-aliases']),
    staticModelTypes: perBackend(parseModelTypes(v['static-model-types'], '--static-model-types'), backends.length, '--static-model-types'),
    staticModelLabels: perBackend(parseList(v['static-model-labels']), backends.length, '--static-model-labels'),
    staticBackendHealthChecks: v['static-backend-health-checks'] ?? false,
    staticBackendHealthCheckInterval: int('static-backend-health-check-interval', v['static-backend-health-check-interval'], 60, 1),
    staticBackendHealthCheckTimeout: int('static-backend-health-check-timeout-seconds', v['static-backend-health-check-timeout-seconds'], 10, 1),
    routingLogic,
    pdLabels,
    sessionKey: v['session-key'] ?? 'x-user-id',
    prefixMinMatchLength: int('prefix-min-match-length', v['prefix-min-match-length'], 0, 0),
    prefixLoadWeight: weight('prefix-load-weight', v['prefix-load-weight'], PREFIX_DEFAULTS.loadWeight),
    loraAffinity: v['lora-affinity'] ?? false,
    engineStatsInterval: int('engine-stats-interval', v['engine-stats-interval'], 30, 1),
    requestStatsWindow: int('request-stats-window', v['request-stats-window'], 60, 1),
    maxInstanceFailoverRerouteAttempts: int('max-instance-failover-reroute-attempts', v['max-instance-failover-reroute-attempts'], 1, 0),
    maxBodySize: int('max-body-size', v['max-body-size'], 10 * 1024 * 1024, 1),
    maxConcurrency: int('max-concurrency', v['max-concurrency'], 4096, 1),
    maxConnections: int('max-connections', v['max-connections'], 8192, 1),
    requestTimeout: seconds('request-timeout', v['request-timeout'], 600),
    clientRequestTimeout: seconds('client-request-timeout', v['client-request-timeout'], 60),
    streamIdleTimeout: seconds('stream-idle-timeout', v['stream-idle-timeout'], 300),
    drainTimeout: seconds('drain-timeout', v['drain-timeout'], 10),
    outlierConsecutive5xx: int('outlier-consecutive-5xx', v['outlier-consecutive-5xx'], 0, 0),
    outlierEjectionTime: seconds('outlier-ejection-time', v['outlier-ejection-time'], 30),
    apiKey: v['api-key'] ?? (env.VLLM_ROUTER_API_KEY || null),
    engineApiKey: env.VLLM_API_KEY || null,
    dynamicConfigFile: v['dynamic-config-json'] ?? v['dynamic-config-yaml'] ?? null,
    logFormat,
    logLevel,
  };
}
