// Command-line flags, compatible with the production-stack router's.
import { parseArgs } from 'node:util';
import { ROUTING_LOGICS, type RoutingLogic } from './routing/index.js';

export interface RouterOptions {
  host: string;
  port: number;
  serviceDiscovery: 'static';
  staticBackends: string[];
  staticModels: string[];
  staticAliases: Record<string, string>;
  staticBackendHealthChecks: boolean;
  routingLogic: RoutingLogic;
  sessionKey: string;
  prefixMinMatchLength: number;
  engineStatsInterval: number;
  requestStatsWindow: number;
  maxInstanceFailoverRerouteAttempts: number;
  maxBodySize: number;
  maxConcurrency: number;
  requestTimeout: number;
  apiKey: string | null;
  engineApiKey: string | null;
  dynamicConfigFile: string | null;
  logFormat: 'text' | 'json';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const USAGE = `usage: vllm-router [options]

OpenAI-compatible request router for vLLM engines (production-stack compatible flags).

  --host HOST                                   listen address (default 127.0.0.1)
  --port N                                      listen port, 0 = any free one (default 8001)
  --service-discovery static                    how engines are found (static; k8s is a later addition)
  --static-backends URL[,URL]                   engine base URLs
  --static-models M[,M]                         model served by each backend, in the same order
  --static-aliases ALIAS:MODEL[,...]            other names for models
  --static-backend-health-checks                probe /health of every backend periodically
  --routing-logic roundrobin|session|prefixaware|leastloaded|kvaware   (default roundrobin)
  --session-key NAME                            header or body field naming the session (default x-user-id)
  --prefix-min-match-length N                   prefix matches shorter than N characters count as cold (default 0)
  --engine-stats-interval S                     scrape each engine's /metrics every S seconds (default 30)
  --request-stats-window S                      window of per-engine QPS and latency (default 60)
  --max-instance-failover-reroute-attempts N    retries on another engine when a connection fails (default 1)
  --max-body-size BYTES                         larger bodies get 413 (default 10485760)
  --max-concurrency N                           requests in flight before 429 (default 4096)
  --request-timeout S                           no response headers within S seconds gets 504 (default 600)
  --api-key KEY                                 clients must send Authorization: Bearer KEY (also VLLM_ROUTER_API_KEY)
  --dynamic-config-json FILE | --dynamic-config-yaml FILE   watched file whose changes apply without a restart
  --log-format text|json                        (default text)
  --log-level debug|info|warn|error             (default info; warn hides per-request lines)
  --log-stats, --log-stats-interval S           accepted for compatibility; /engines and /metrics carry the stats
  -h, --help
The engines' API key is taken from VLLM_API_KEY and sent to them.`;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function int(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} ${text}: expected a whole number of at least ${min}`);
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

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): RouterOptions | 'help' {
  const s = { type: 'string' } as const;
  const b = { type: 'boolean' } as const;
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      host: s, port: s, 'service-discovery': s, 'static-backends': s, 'static-models': s, 'static-aliases': s,
      'static-backend-health-checks': b, 'routing-logic': s, 'session-key': s, 'prefix-min-match-length': s,
      'engine-stats-interval': s, 'request-stats-window': s, 'max-instance-failover-reroute-attempts': s,
      'max-body-size': s, 'max-concurrency': s, 'request-timeout': s, 'api-key': s, 'dynamic-config-json': s,
      'dynamic-config-yaml': s, 'log-format': s, 'log-level': s, 'log-stats': b, 'log-stats-interval': s, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return 'help';
  const discovery = v['service-discovery'] ?? 'static';
  if (discovery !== 'static') throw new Error(`--service-discovery ${discovery}: only static discovery is available in this version`);
  const backends = parseList(v['static-backends']).map(normalizeUrl);
  const models = parseList(v['static-models']);
  if (models.length > 0 && models.length !== backends.length) throw new Error(`--static-models names ${models.length} model(s) for ${backends.length} backend(s); give one per backend`);
  const logFormat = v['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new Error(`--log-format ${logFormat}: expected text or json`);
  const logLevel = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`--log-level ${logLevel}: expected ${LOG_LEVELS.join(', ')}`);
  return {
    host: v.host ?? '127.0.0.1',
    port: int('port', v.port, 8001, 0),
    serviceDiscovery: 'static',
    staticBackends: backends,
    staticModels: models,
    staticAliases: parseAliases(v['static-aliases']),
    staticBackendHealthChecks: v['static-backend-health-checks'] ?? false,
    routingLogic: parseRoutingLogic(v['routing-logic'] ?? 'roundrobin'),
    sessionKey: v['session-key'] ?? 'x-user-id',
    prefixMinMatchLength: int('prefix-min-match-length', v['prefix-min-match-length'], 0, 0),
    engineStatsInterval: int('engine-stats-interval', v['engine-stats-interval'], 30, 1),
    requestStatsWindow: int('request-stats-window', v['request-stats-window'], 60, 1),
    maxInstanceFailoverRerouteAttempts: int('max-instance-failover-reroute-attempts', v['max-instance-failover-reroute-attempts'], 1, 0),
    maxBodySize: int('max-body-size', v['max-body-size'], 10 * 1024 * 1024, 1),
    maxConcurrency: int('max-concurrency', v['max-concurrency'], 4096, 1),
    requestTimeout: int('request-timeout', v['request-timeout'], 600, 1),
    apiKey: v['api-key'] ?? (env.VLLM_ROUTER_API_KEY || null),
    engineApiKey: env.VLLM_API_KEY || null,
    dynamicConfigFile: v['dynamic-config-json'] ?? v['dynamic-config-yaml'] ?? null,
    logFormat,
    logLevel: logLevel as RouterOptions['logLevel'],
  };
}
