// Values are checked against the chart before anything is installed: its
// values.schema.json (draft 2020-12) and, because Helm silently ignores keys
// a chart does not know (how kdevops' routing choice, autoscaling and LMCache
// never reached its cluster), that every key set exists in the chart's schema
// or its default values.yaml. Each problem names the CONFIG_ symbol behind it.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import type { HelmNode, Values } from './values.js';

export interface ChartDefinition {
  /** The chart's values.schema.json. */
  schema: Record<string, unknown>;
  /** The chart's default values.yaml, parsed. */
  defaults: Record<string, unknown>;
}

export interface ValuesProblem {
  /** Where in the values: routerSpec.routingLogic, servingEngineSpec.modelSpec[0].tag */
  path: string;
  /** CONFIG_ symbol (without the prefix) that set it; '' when the harness itself did. */
  symbol: string;
  message: string;
}

/**
 * Keys the chart's templates read that neither its schema nor its values.yaml mention, each with
 * the template that reads it (a test checks the template still does).
 */
export const TEMPLATE_ONLY_KEYS: Record<string, string> = {
  'servingEngineSpec.modelSpec[].lmcacheConfig.diskOffloadingBufferSize': 'templates/deployment-vllm-multi.yaml',
  // Disaggregated prefill (production-stack's tests/assets/values-10-disagg-prefill.yaml).
  'servingEngineSpec.modelSpec[].lmcacheConfig.kvRole': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.enablePD': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.enableNixl': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.nixlRole': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.nixlPeerHost': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.nixlPeerPort': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.nixlBufferSize': 'templates/deployment-vllm-multi.yaml',
  'servingEngineSpec.modelSpec[].lmcacheConfig.nixlBufferDevice': 'templates/deployment-vllm-multi.yaml',
};

/**
 * Values handed to other charts or checked otherwise: extraObjects are whole Kubernetes objects
 * (validated as such by the tests); kube-prometheus-stack's keys belong to that sub-chart.
 */
export const OPAQUE_KEYS = new Set([
  'extraObjects[]',
  'kube-prometheus-stack.fullnameOverride',
  'kube-prometheus-stack.grafana.fullnameOverride',
  'kube-prometheus-stack.grafana.admin.existingSecret',
  'kube-prometheus-stack.grafana.admin.userKey',
  'kube-prometheus-stack.grafana.admin.passwordKey',
  'kube-prometheus-stack.prometheus.prometheusSpec.ruleSelector',
]);

type Dev = keyof HelmNode['overrides'];

/** The CONFIG_ symbol behind a values path (array indexes written []), for this node. */
export function symbolFor(path: string, node: Pick<HelmNode, 'overrides'>): string {
  const dev = (key: Dev, devSymbol: string, symbol: string) => (key in node.overrides ? devSymbol : symbol);
  const p = path.replace(/\[\d+\]/g, '[]');
  const model = 'servingEngineSpec.modelSpec[].';
  const table: [string, string][] = [
    [`${model}repository`, 'VLLM_ENGINE_IMAGE_REPO'],
    [`${model}tag`, dev('engine_image_tag', 'VLLM_DEV_ENGINE_IMAGE_TAG', 'VLLM_ENGINE_IMAGE_TAG')],
    [`${model}name`, 'VLLM_MODEL_URL'],
    [`${model}modelURL`, 'VLLM_MODEL_URL'],
    [`${model}replicaCount`, 'VLLM_REPLICA_COUNT'],
    [`${model}requestCPU`, 'VLLM_REQUEST_CPU'],
    [`${model}requestMemory`, 'VLLM_REQUEST_MEMORY'],
    [`${model}limitMemory`, 'VLLM_REQUEST_MEMORY'],
    [`${model}requestGPUType`, 'VLLM_GPU_TYPE'],
    [`${model}requestGPU`, 'VLLM_REQUEST_GPU'],
    [`${model}env`, 'VLLM_USE_CPU_INFERENCE'],
    [`${model}vllmConfig.enablePrefixCaching`, 'VLLM_ENABLE_PREFIX_CACHING'],
    [`${model}vllmConfig.enableChunkedPrefill`, 'VLLM_ENABLE_CHUNKED_PREFILL'],
    [`${model}vllmConfig.maxModelLen`, 'VLLM_MAX_MODEL_LEN'],
    [`${model}vllmConfig.maxNumSeqs`, 'VLLM_MAX_NUM_SEQS'],
    [`${model}vllmConfig.dtype`, 'VLLM_DTYPE'],
    [`${model}vllmConfig.tensorParallelSize`, 'VLLM_TENSOR_PARALLEL_SIZE'],
    [`${model}vllmConfig.gpuMemoryUtilization`, 'VLLM_GPU_MEMORY_UTILIZATION'],
    [`${model}vllmConfig.extraArgs`, dev('extra_engine_args', 'VLLM_DEV_EXTRA_ENGINE_ARGS', 'VLLM_MODEL_NAME')],
    [`${model}lmcacheConfig.cpuOffloadingBufferSize`, 'VLLM_LMCACHE_CPU_BUFFER_SIZE'],
    [`${model}lmcacheConfig.diskOffloadingBufferSize`, 'VLLM_LMCACHE_DISK_BUFFER_SIZE'],
    [`${model}lmcacheConfig`, dev('lmcache_enabled', 'VLLM_DEV_LMCACHE_ENABLED', 'VLLM_LMCACHE_ENABLED')],
    [`${model}hf_token`, 'VLLM_HF_TOKEN_FILE'],
    ['servingEngineSpec.vllmApiKey', 'VLLM_API_KEY_FILE'],
    ['routerSpec.repository', dev('router_impl', 'VLLM_DEV_ROUTER_IMPL', 'VLLM_ROUTER_IMAGE')],
    ['routerSpec.tag', dev('router_impl', 'VLLM_DEV_ROUTER_IMPL', 'VLLM_ROUTER_TAG')],
    ['routerSpec.routingLogic', dev('routing_logic', 'VLLM_DEV_ROUTING_LOGIC', 'VLLM_ROUTING_LOGIC')],
    ['routerSpec.sessionKey', 'VLLM_ROUTER_SESSION_KEY'],
    ['routerSpec.engineScrapeInterval', 'VLLM_ROUTER_ENGINE_STATS_INTERVAL'],
    ['routerSpec.requestStatsWindow', 'VLLM_ROUTER_REQUEST_STATS_WINDOW'],
    ['routerSpec.extraArgs', 'VLLM_ROUTER_REQUEST_TIMEOUT'],
    ['routerSpec.enableRouter', 'VLLM_ROUTER_ENABLED'],
    ['servingEngineSpec.labels', 'VLLM_HELM_RELEASE_NAME'],
    ['routerSpec.labels', 'VLLM_HELM_RELEASE_NAME'],
    ['extraObjects', 'VLLM_AUTOSCALING_ENABLED'],
    ['kube-prometheus-stack', 'VLLM_OBSERVABILITY_ENABLED'],
    ['servingEngineSpec.serviceMonitor', 'VLLM_OBSERVABILITY_ENABLED'],
    ['routerSpec.serviceMonitor', 'VLLM_OBSERVABILITY_ENABLED'],
  ];
  return table.find(([prefix]) => p === prefix || p.startsWith(`${prefix}.`) || p.startsWith(`${prefix}[`))?.[1] ?? '';
}

function ajvPath(instancePath: string): string {
  return instancePath.split('/').slice(1).map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`)).join('').replace(/^\./, '');
}

function describeAjv(err: ErrorObject): string {
  const params = err.params as Record<string, unknown>;
  if (err.keyword === 'enum') return `not a value the chart accepts; allowed: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (err.keyword === 'type') return `the chart expects ${String(params.type)}`;
  return `the chart's schema says: ${err.message ?? err.keyword}`;
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; type?: unknown; additionalProperties?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A schema node that says "any keys": an object type with no property list. */
function freeForm(s: Schema | undefined): boolean {
  if (!s) return false;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.includes('object') && !s.properties;
}

function unknownKeys(value: unknown, schema: Schema | undefined, defaults: unknown, path: string, pattern: string, out: string[]): void {
  if (OPAQUE_KEYS.has(pattern) || TEMPLATE_ONLY_KEYS[pattern]) return;
  if (Array.isArray(value)) {
    const itemDefaults = Array.isArray(defaults) ? defaults[0] : undefined;
    // A list the chart passes through untyped (env, tolerations): Kubernetes types its items.
    if (schema?.items === undefined && itemDefaults === undefined) return;
    value.forEach((item, i) => unknownKeys(item, schema?.items, itemDefaults, `${path}[${i}]`, `${pattern}[]`, out));
    return;
  }
  if (!isObject(value)) return;
  for (const [k, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${k}` : k;
    const childPattern = pattern ? `${pattern}.${k}` : k;
    const childSchema = schema?.properties?.[k];
    const childDefaults = isObject(defaults) ? defaults[k] : undefined;
    if (childSchema === undefined && childDefaults === undefined && !OPAQUE_KEYS.has(childPattern) && !TEMPLATE_ONLY_KEYS[childPattern]) {
      if (!freeForm(schema)) out.push(childPath);
      continue;
    }
    unknownKeys(child, childSchema, childDefaults, childPath, childPattern, out);
  }
}

const compiled = new WeakMap<object, ReturnType<Ajv2020['compile']>>();

export function validateValues(values: Values, chart: ChartDefinition, node: Pick<HelmNode, 'overrides'>): ValuesProblem[] {
  let validate = compiled.get(chart.schema);
  if (!validate) {
    // strict off: the chart's schema is generated by helm-schema and carries its own annotations.
    validate = new Ajv2020({ allErrors: true, strict: false }).compile(chart.schema);
    compiled.set(chart.schema, validate);
  }
  const problems: ValuesProblem[] = [];
  if (!validate(values)) {
    for (const err of validate.errors ?? []) {
      const path = ajvPath(err.instancePath);
      problems.push({ path, symbol: symbolFor(path, node), message: describeAjv(err) });
    }
  }
  const unknown: string[] = [];
  unknownKeys(values, chart.schema as Schema, chart.defaults, '', '', unknown);
  for (const path of unknown) {
    problems.push({ path, symbol: symbolFor(path, node), message: 'the chart has no such key (not in its values.schema.json nor its values.yaml): Helm would ignore it silently' });
  }
  return problems;
}

export function describeValuesProblem(p: ValuesProblem, nodeName: string, value?: unknown): string {
  const who = p.symbol ? `CONFIG_${p.symbol}` : 'the harness (a bug: please report it)';
  return `${nodeName}: ${p.path}${value === undefined ? '' : `=${JSON.stringify(value)}`} (from ${who}): ${p.message}`;
}

/** The value at a path such as servingEngineSpec.modelSpec[0].tag. */
export function valueAt(values: Values, path: string): unknown {
  let at: unknown = values;
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[m[1] ?? Number(m[2])];
  }
  return at;
}
