// The production-stack router's flags that this router does not implement,
// and what it does with each: accepted without effect when they only tune a
// feature that is off unless another flag turns it on, refused with the
// reason when they turn on something this router does not have. A script or
// chart written for production-stack never gets "unknown option".

export interface ForeignFlag {
  name: string;
  /** Takes a value (--name VALUE), or is a switch. */
  value: boolean;
  /** `refused`: given at all (or, with `allowed`, with another value), the router exits with `why`. */
  effect: 'ignored' | 'refused';
  why: string;
  /** Values that are accepted although the flag is refused otherwise (the "off" values). */
  allowed?: string[];
}

const TUNES_KVAWARE = 'tunes production-stack\'s kvaware lookups in the LMCache controller; kvaware here scores engine load from /metrics';
const TUNES_BATCH = 'tunes the batch API, which --enable-batch-api would turn on (refused)';

export const FOREIGN_FLAGS: ForeignFlag[] = [
  { name: 'log-stats', value: false, effect: 'ignored', why: '/engines and /metrics carry the stats' },
  { name: 'log-stats-interval', value: true, effect: 'ignored', why: '/engines and /metrics carry the stats' },
  { name: 'lmcache-controller-port', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'lmcache-controller-reply-port', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'lmcache-controller-heartbeat-port', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'lmcache-health-check-interval', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'lmcache-worker-timeout', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'kv-aware-threshold', value: true, effect: 'ignored', why: TUNES_KVAWARE },
  { name: 'file-storage-class', value: true, effect: 'ignored', why: TUNES_BATCH },
  { name: 'file-storage-path', value: true, effect: 'ignored', why: TUNES_BATCH },
  { name: 'batch-processor', value: true, effect: 'ignored', why: TUNES_BATCH },
  { name: 'semantic-cache-model', value: true, effect: 'ignored', why: 'tunes the experimental semantic cache, which --feature-gates would turn on (refused)' },
  { name: 'semantic-cache-dir', value: true, effect: 'ignored', why: 'tunes the experimental semantic cache, which --feature-gates would turn on (refused)' },
  { name: 'semantic-cache-threshold', value: true, effect: 'ignored', why: 'tunes the experimental semantic cache, which --feature-gates would turn on (refused)' },
  { name: 'sentry-traces-sample-rate', value: true, effect: 'ignored', why: 'tunes Sentry reporting, which --sentry-dsn would turn on (refused)' },
  { name: 'sentry-profile-session-sample-rate', value: true, effect: 'ignored', why: 'tunes Sentry reporting, which --sentry-dsn would turn on (refused)' },
  { name: 'otel-service-name', value: true, effect: 'ignored', why: 'tunes tracing, which --otel-endpoint would turn on (refused)' },
  { name: 'otel-secure', value: false, effect: 'ignored', why: 'tunes tracing, which --otel-endpoint would turn on (refused)' },
  { name: 'request-rewriter', value: true, effect: 'refused', allowed: ['noop'], why: 'only noop exists (requests are forwarded unchanged but for an alias\'s model name)' },
  { name: 'feature-gates', value: true, effect: 'refused', allowed: [''], why: 'the experimental features (semantic cache, PII detection) are not in this router' },
  { name: 'callbacks', value: true, effect: 'refused', why: 'it loads a Python module into production-stack\'s process; this router runs no Python' },
  { name: 'enable-batch-api', value: false, effect: 'refused', why: 'the batch and files API is not implemented; send requests one by one' },
  { name: 'sentry-dsn', value: true, effect: 'refused', why: 'there is no Sentry reporting; errors are in the log and in vllm:request_errors_total' },
  { name: 'otel-endpoint', value: true, effect: 'refused', why: 'there is no OpenTelemetry tracing; x-request-id links the router\'s and the engine\'s logs' },
  { name: 'external-providers-config', value: true, effect: 'refused', why: 'only vLLM engines are routed to, not external providers' },
];

/** The refusal for one given foreign flag, or null when it is accepted (without effect). */
export function refusal(flag: ForeignFlag, given: string | boolean): string | null {
  if (flag.effect === 'ignored') return null;
  if (flag.allowed && typeof given === 'string' && flag.allowed.includes(given)) return null;
  return `--${flag.name}${typeof given === 'string' ? ` ${given}` : ''} is not supported by this router, because ${flag.why}`;
}
