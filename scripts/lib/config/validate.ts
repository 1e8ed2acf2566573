// Everything wrong with a set of extra vars, each problem naming its CONFIG_
// symbol, the value given and what is allowed: the schema first (types,
// ranges, enums, patterns), then the rules that span several options.
import { parseLoraAdapters } from './lora.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { benchProblems } from './bench-settings.js';
import { K8S_QUANTITY_HELP } from './choices.js';
import { symbolName, type ExtraVars } from './extra-vars.js';
import { kvPort, nodeConfigs } from './node-config.js';

export interface ConfigProblem {
  symbol: string;
  value: unknown;
  message: string;
}

export function describe(p: ConfigProblem): string {
  // As .config spells it: a bool is y or n.
  const shown = typeof p.value === 'string' ? `"${p.value}"` : typeof p.value === 'boolean' ? (p.value ? 'y' : 'n') : String(p.value);
  return `CONFIG_${p.symbol}=${shown}: ${p.message}`;
}

function fromAjv(err: ErrorObject, vars: Record<string, unknown>): ConfigProblem {
  const name = err.instancePath.replace(/^\//, '') || String(err.params.missingProperty ?? err.params.additionalProperty ?? '');
  const value = vars[name];
  const params = err.params as Record<string, unknown>;
  const messages: Record<string, () => string> = {
    minimum: () => `below the minimum; allowed: ${String(params.limit)} or more`,
    maximum: () => `above the maximum; allowed: ${String(params.limit)} or less`,
    enum: () => `not one of the allowed values: ${(params.allowedValues as string[]).map((v) => `"${v}"`).join(', ')}`,
    pattern: () => (name.endsWith('memory') || name.endsWith('buffer_size') ? `not ${K8S_QUANTITY_HELP}` : `does not match ${String(params.pattern)}`),
    type: () => `must be ${String(params.type)}`,
    required: () => 'is missing; run make olddefconfig to regenerate the configuration',
    additionalProperties: () => 'is not an option of this harness; remove it from .config',
  };
  return { symbol: symbolName(name), value, message: messages[err.keyword]?.() ?? err.message ?? 'is invalid' };
}

function crossField(v: ExtraVars, topdir: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (v.vllm_request_gpu !== undefined && v.vllm_request_gpu > 0 && v.vllm_use_cpu_inference) {
    problems.push({ symbol: 'VLLM_REQUEST_GPU', value: v.vllm_request_gpu, message: 'GPUs are requested but CONFIG_VLLM_USE_CPU_INFERENCE is set; allowed: 0 with CPU inference, or turn CPU inference off on a GPU-capable target' });
  }
  if (v.vllm_tensor_parallel_size !== undefined && v.vllm_request_gpu !== undefined && v.vllm_request_gpu > 0 && v.vllm_tensor_parallel_size > v.vllm_request_gpu) {
    problems.push({ symbol: 'VLLM_TENSOR_PARALLEL_SIZE', value: v.vllm_tensor_parallel_size, message: `larger than the GPUs requested per replica (${v.vllm_request_gpu}); allowed: 1..${v.vllm_request_gpu}` });
  }
  problems.push(...engineInstallProblems(v));
  if (v.vllm_autoscaling_enabled && v.vllm_autoscaling_min_replicas !== undefined && v.vllm_autoscaling_max_replicas !== undefined) {
    if (v.vllm_autoscaling_min_replicas > v.vllm_autoscaling_max_replicas) {
      problems.push({ symbol: 'VLLM_AUTOSCALING_MIN_REPLICAS', value: v.vllm_autoscaling_min_replicas, message: `larger than CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS=${v.vllm_autoscaling_max_replicas}; allowed: 1..${v.vllm_autoscaling_max_replicas}` });
    } else if (v.vllm_replica_count < v.vllm_autoscaling_min_replicas || v.vllm_replica_count > v.vllm_autoscaling_max_replicas) {
      problems.push({ symbol: 'VLLM_REPLICA_COUNT', value: v.vllm_replica_count, message: `outside the autoscaling bounds; allowed: ${v.vllm_autoscaling_min_replicas}..${v.vllm_autoscaling_max_replicas}` });
    }
  }
  const hosts = v.vllm_declared_hosts === '' ? [] : v.vllm_declared_hosts.split(',');
  const nodes = v.vllm_baseline_and_dev ? 2 : 1;
  if (hosts.length > 0 && hosts.length !== nodes) {
    problems.push({ symbol: 'VLLM_DECLARED_HOSTS', value: v.vllm_declared_hosts, message: `names ${hosts.length} host(s) for ${nodes} node(s); allowed: ${nodes === 2 ? 'baseline,dev' : 'one host'}` });
  }
  if (v.vllm_lora_enabled) {
    try {
      parseLoraAdapters(v.vllm_lora_adapters ?? '');
    } catch (err) {
      problems.push({ symbol: 'VLLM_LORA_ADAPTERS', value: v.vllm_lora_adapters, message: (err as Error).message.replace(/^CONFIG_VLLM_LORA_ADAPTERS:? ?/, '') });
    }
    for (const n of nodeConfigs(v, topdir)) {
      if (n.loraAffinity && n.routerImpl !== 'builtin') {
        const symbol = n.role === 'dev' && v.vllm_dev_lora_affinity ? 'VLLM_DEV_LORA_AFFINITY' : 'VLLM_ROUTER_LORA_AFFINITY';
        problems.push({ symbol, value: true, message: `asks ${n.name}'s router for adapter affinity, but it runs the production-stack router, which has none; use this project's router there, or turn affinity off` });
      }
    }
    if (v.vllm_target !== 'local' && !v.vllm_lora_runtime_updating) {
      problems.push({ symbol: 'VLLM_LORA_RUNTIME_UPDATING', value: false, message: "is off, but on Kubernetes the chart's LoRA controller loads the adapters through the engines' runtime routes; turn it on, or LoRA off" });
    }
    if (v.vllm_target !== 'local' && v.vllm_baseline_and_dev) {
      problems.push({ symbol: 'VLLM_LORA_ENABLED', value: true, message: "is on with baseline and dev in one cluster, but the chart's LoRA controller finds where an adapter is loaded by its name on every pod of the cluster, so each release's LoraAdapters would unload the other's adapters of the same name; compare LoRA nodes locally (vllm-local+ab-lora-affinity) or on declared hosts, or run one node" });
    }
    if (v.vllm_target !== 'local' && (v.vllm_pd_enabled || v.vllm_dev_pd_on)) {
      problems.push({ symbol: 'VLLM_LORA_ENABLED', value: true, message: "is on with disaggregated prefill, but on Kubernetes the chart's LoRA controller loads each adapter on the pods of one `model` label (its baseModel), and a disaggregating node's prefill and decode engines carry two: no adapter could reach both; turn LoRA or disaggregation off there" });
    }
  }
  const pdEngines = (v.vllm_pd_prefill_engines ?? 0) + (v.vllm_pd_decode_engines ?? 0);
  if ((v.vllm_pd_enabled || v.vllm_dev_pd_on) && pdEngines > 0 && v.vllm_replica_count !== pdEngines) {
    problems.push({ symbol: 'VLLM_REPLICA_COUNT', value: v.vllm_replica_count, message: `must be CONFIG_VLLM_PD_PREFILL_ENGINES + CONFIG_VLLM_PD_DECODE_ENGINES = ${pdEngines} with disaggregated prefill${v.vllm_dev_pd_on ? ' (baseline runs as many engines colocated)' : ''}; allowed: ${pdEngines}` });
  }
  if ((v.vllm_pd_enabled || v.vllm_dev_pd_on) && v.vllm_autoscaling_enabled && v.vllm_target !== 'local') {
    problems.push({ symbol: 'VLLM_AUTOSCALING_ENABLED', value: true, message: 'KEDA scales one engine Deployment, and disaggregated prefill has two (prefill and decode); turn autoscaling off, or disaggregation' });
  }
  problems.push(...benchProblems(v));
  if (problems.length > 0) return problems;
  // Every port any node can use: in range and used once.
  const seen = new Map<number, string>();
  for (const node of nodeConfigs(v, topdir)) {
    const maxEngines = Math.max(v.vllm_replica_count, v.vllm_autoscaling_enabled ? v.vllm_autoscaling_max_replicas ?? 0 : 0);
    const ports: [number, string, string][] = [[node.routerPort, `${node.name} router`, 'VLLM_API_PORT']];
    for (let i = 0; i < maxEngines; i++) ports.push([node.enginePortBase + i, `${node.name} engine-${i}`, 'VLLM_API_PORT']);
    if (node.pd) for (let i = 0; i < maxEngines; i++) ports.push([kvPort(node.enginePortBase, i), `${node.name} engine-${i} KV side channel`, 'VLLM_API_PORT']);
    if (v.vllm_observability_enabled && v.vllm_prometheus_port !== undefined) ports.push([node.prometheusPort, `${node.name} prometheus`, 'VLLM_PROMETHEUS_PORT']);
    if (v.vllm_grafana_port !== undefined && node.index === 0) ports.push([v.vllm_grafana_port, 'grafana', 'VLLM_GRAFANA_PORT']);
    for (const [port, what, symbol] of ports) {
      const value = symbol === 'VLLM_API_PORT' ? v.vllm_api_port : symbol === 'VLLM_PROMETHEUS_PORT' ? v.vllm_prometheus_port : v.vllm_grafana_port;
      if (port < 1 || port > 65535) {
        problems.push({ symbol, value, message: `gives ${what} port ${port}, outside 1..65535; choose a lower port` });
      } else if (seen.has(port)) {
        problems.push({ symbol, value, message: `gives ${what} port ${port}, which ${seen.get(port)} already uses; choose ports at least ${maxEngines + 1} apart` });
      } else {
        seen.set(port, what);
      }
    }
  }
  return problems;
}

/** Real vLLM on the local target and declared hosts: an install mode that can run what is asked. */
function engineInstallProblems(v: ExtraVars): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const local = v.vllm_target === 'local' && v.vllm_engine === 'vllm';
  if (!local) {
    if (v.vllm_engine_install !== undefined) {
      problems.push({ symbol: 'VLLM_ENGINE_INSTALL', value: v.vllm_engine_install, message: `applies to real vLLM on the local target and declared hosts only; ${v.vllm_target === 'local' ? 'the simulator installs nothing' : 'on Kubernetes the engine image runs in pods (CONFIG_VLLM_ENGINE_IMAGE_REPO/_TAG)'}; run make olddefconfig` });
    }
    return problems;
  }
  if (v.vllm_engine_install === undefined) {
    return [{ symbol: 'VLLM_ENGINE_INSTALL', value: undefined, message: 'is missing although real vLLM runs on the local target; run make olddefconfig' }];
  }
  if (v.vllm_engine_install === 'venv' && v.vllm_use_cpu_inference) {
    problems.push({ symbol: 'VLLM_USE_CPU_INFERENCE', value: true, message: "is set, but the venv gets PyPI's vllm, which is built for CUDA GPUs and has no CPU backend; turn CPU inference off, or run vLLM's CPU image (CONFIG_VLLM_ENGINE_INSTALL_CONTAINER) or your own CPU build on PATH (CONFIG_VLLM_ENGINE_INSTALL_PATH)" });
  }
  if (!v.vllm_use_cpu_inference && (v.vllm_request_gpu ?? 0) === 0) {
    problems.push({ symbol: 'VLLM_REQUEST_GPU', value: v.vllm_request_gpu ?? 0, message: 'gives each engine no GPU, but CPU inference is off; allowed: 1 or more GPUs per replica, or turn CONFIG_VLLM_USE_CPU_INFERENCE on' });
  }
  if (v.vllm_engine_install === 'container' && v.vllm_use_cpu_inference && v.vllm_engine_image_repo === 'vllm/vllm-openai') {
    problems.push({ symbol: 'VLLM_ENGINE_IMAGE_REPO', value: v.vllm_engine_image_repo, message: "is vLLM's CUDA image, but CPU inference is on; use a CPU build (openeuler/vllm-cpu, the default with CPU inference) or turn CPU inference off" });
  }
  return problems;
}

const compiled = new WeakMap<object, ValidateFunction>();

export function validateExtraVars(vars: Record<string, unknown>, schema: Record<string, unknown>, topdir: string): ConfigProblem[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(vars)) return (validate.errors ?? []).map((e) => fromAjv(e, vars));
  return crossField(vars as unknown as ExtraVars, topdir);
}
