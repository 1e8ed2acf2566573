// The production-stack chart's values for one node, built as objects from the
// configuration: every option that shapes a Kubernetes deployment is read
// here and nowhere else. Secrets are never values: the deploy creates them as
// Kubernetes Secrets and the values only name them.
import type { ExtraVars, NodeConfig } from '../config/index.js';
import { adapterEngineCount, loraPlan } from '../config/lora.js';
import { requiredOption } from '../config/required-option.js';
import type { LoraPlan } from '../vocabulary/node-plan.js';
import { quantityGb, simModelFlags, type StackConfigVars } from '../config/node-plan.js';
import { releaseNames, type ReleaseNames } from './names.js';

export type HelmConfigVars = StackConfigVars & Pick<ExtraVars,
  'vllm_target' | 'vllm_helm_release_name' | 'vllm_helm_namespace' | 'vllm_engine_image_repo' | 'vllm_engine_image_tag'
  | 'vllm_request_cpu' | 'vllm_request_memory' | 'vllm_request_gpu' | 'vllm_gpu_type' | 'vllm_router_impl' | 'vllm_router_image'
  | 'vllm_router_tag' | 'vllm_router_service_type' | 'vllm_autoscaling_min_replicas' | 'vllm_autoscaling_waiting_threshold' | 'vllm_lmcache_enabled'
  | 'vllm_router_request_timeout' | 'vllm_router_max_concurrency' | 'vllm_sim_kv_transfer_tokens_per_sec' | 'vllm_deploy_timeout'>;

export type HelmNode = Pick<NodeConfig, 'name' | 'role' | 'routerImpl' | 'routingLogic' | 'engineImageTag' | 'lmcacheEnabled' | 'extraEngineArgs' | 'overrides'>
  & Partial<Pick<NodeConfig, 'loraAffinity' | 'pd'>>;

/** Which secrets exist (their values never reach this module). */
export interface SecretPresence {
  apiKey: boolean;
  hfToken: boolean;
}

export type Values = Record<string, unknown>;

/** The router image of an implementation when the dev node switches to it (the configured one is baseline's). */
export const DEFAULT_ROUTER_IMAGES: Record<string, { repository: string; tag: string }> = {
  builtin: { repository: 'ghcr.io/vllm-stack-harness/router', tag: '0.1.0' },
  'production-stack': { repository: 'lmcache/lmstack-router', tag: 'v0.1.12' },
};

/** Series the engines' ServiceMonitor gives Prometheus carry the Service's name; KEDA asks for the node's own. */
export function waitingQuery(names: ReleaseNames): string {
  return `sum(vllm:num_requests_waiting{namespace="${names.namespace}",service="${names.engineService}"})`;
}

const need = requiredOption<HelmConfigVars>('a Kubernetes deployment');

export function nodeReleaseNames(v: HelmConfigVars, node: Pick<HelmNode, 'role'>): ReleaseNames {
  return releaseNames(need(v, 'vllm_helm_release_name'), node.role, need(v, 'vllm_helm_namespace'), v.vllm_model_url);
}

function routerImage(v: HelmConfigVars, node: HelmNode): { repository: string; tag: string } {
  if (node.routerImpl === (v.vllm_router_impl ?? 'builtin')) return { repository: need(v, 'vllm_router_image'), tag: need(v, 'vllm_router_tag') };
  return DEFAULT_ROUTER_IMAGES[node.routerImpl] ?? { repository: need(v, 'vllm_router_image'), tag: need(v, 'vllm_router_tag') };
}

function vllmConfig(v: HelmConfigVars, node: HelmNode): Values {
  const extraArgs = [
    ...(v.vllm_model_name !== '' ? ['--served-model-name', v.vllm_model_name] : []),
    ...(v.vllm_engine === 'sim' ? simModelFlags(v, node) : []),
    ...node.extraEngineArgs,
  ];
  const lora = loraPlan(v);
  const common: Values = {
    enablePrefixCaching: v.vllm_enable_prefix_caching,
    maxModelLen: v.vllm_max_model_len,
    maxNumSeqs: v.vllm_max_num_seqs,
    // The chart renders --max_loras; --enable-lora comes from modelSpec.enableLoRA.
    ...(lora ? { maxLoras: lora.maxLoras } : {}),
  };
  if (v.vllm_engine === 'vllm') {
    Object.assign(common, {
      enableChunkedPrefill: v.vllm_enable_chunked_prefill,
      dtype: need(v, 'vllm_dtype'),
      tensorParallelSize: need(v, 'vllm_tensor_parallel_size'),
      ...(v.vllm_use_cpu_inference ? {} : { gpuMemoryUtilization: need(v, 'vllm_gpu_memory_utilization') / 100 }),
    });
  }
  return extraArgs.length > 0 ? { ...common, extraArgs } : common;
}

function engineEnv(v: HelmConfigVars): { name: string; value: string }[] {
  // The chart's LoRA controller loads adapters through the engines' runtime routes.
  const lora = v.vllm_lora_enabled && v.vllm_lora_runtime_updating ? [{ name: 'VLLM_ALLOW_RUNTIME_LORA_UPDATING', value: 'True' }] : [];
  // vLLM's CPU backend sizes its KV cache from VLLM_CPU_KVCACHE_SPACE (GiB): a quarter of the pod's memory.
  if (v.vllm_engine !== 'vllm' || !v.vllm_use_cpu_inference) return lora;
  const memoryGb = quantityGb(need(v, 'vllm_request_memory'));
  return [...lora, { name: 'VLLM_CPU_KVCACHE_SPACE', value: String(Math.max(1, Math.floor(memoryGb / 4))) }];
}

/**
 * One LoraAdapter resource per configured adapter (the chart renders them; its LoRA controller
 * loads each on `replicas` engines): named after the release, so baseline's and dev's differ.
 * baseModel is the modelSpec's name: the controller places adapters on the pods whose `model`
 * label it is (not the served model's name, which is no label value).
 * A path starting with / is a local directory on the engines; otherwise a Hugging Face repository.
 */
export function loraAdapterValues(plan: LoraPlan, names: ReleaseNames, replicas: number): Values[] {
  return plan.adapters.map((a) => ({
    name: `${names.release}-${a.name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`,
    baseModel: names.model,
    adapterSource: a.path.startsWith('/')
      ? { type: 'local', adapterName: a.name, adapterPath: a.path }
      : { type: 'huggingface', adapterName: a.name, repository: a.path },
    loraAdapterDeploymentConfig: { algorithm: 'default', replicas: adapterEngineCount(a, replicas) },
  }));
}

function modelSpec(v: HelmConfigVars, node: HelmNode, names: ReleaseNames, secrets: SecretPresence): Values {
  const gpus = v.vllm_engine === 'vllm' ? v.vllm_request_gpu ?? 0 : 0;
  const spec: Values = {
    name: names.model,
    repository: need(v, 'vllm_engine_image_repo'),
    tag: node.engineImageTag !== '' ? node.engineImageTag : need(v, 'vllm_engine_image_tag'),
    modelURL: v.vllm_model_url,
    replicaCount: v.vllm_replica_count,
    requestCPU: need(v, 'vllm_request_cpu'),
    requestMemory: need(v, 'vllm_request_memory'),
    // Memory is capped at the request so that an engine that outgrows it is visible (OOMKilled), not a noisy neighbour.
    limitMemory: need(v, 'vllm_request_memory'),
    requestGPU: gpus,
    ...(gpus > 0 && v.vllm_gpu_type ? { requestGPUType: v.vllm_gpu_type } : {}),
    // The chart defaults to runtimeClassName "nvidia", which exists only where the GPU operator
    // made it (existing GPU clusters); minikube's --gpus all uses the default runtime.
    runtimeClassName: gpus > 0 && v.vllm_target === 'existing' ? 'nvidia' : '',
    vllmConfig: vllmConfig(v, node),
    env: engineEnv(v),
    ...(v.vllm_lora_enabled ? { enableLoRA: true } : {}),
  };
  if (node.lmcacheEnabled) {
    const disk = v.vllm_engine === 'vllm' ? v.vllm_lmcache_disk_buffer_size ?? '' : '';
    spec.lmcacheConfig = {
      enabled: true,
      cpuOffloadingBufferSize: String(need(v, 'vllm_lmcache_cpu_buffer_size')),
      ...(disk !== '' ? { diskOffloadingBufferSize: String(quantityGb(disk)) } : {}),
    };
  }
  if (secrets.hfToken) spec.hf_token = { secretName: names.secrets, secretKey: 'hfToken' };
  return spec;
}

/** The KV port the chart opens on every engine pod and its Service (zmq-port): LMCache NIXL's receiver port. */
export const CHART_KV_PORT = 55555;

/**
 * A disaggregating node's two modelSpecs, as production-stack's
 * values-10-disagg-prefill.yaml writes them: prefill engines are LMCache
 * kv_producer / NIXL sender to the decode engines' Service, decode engines
 * kv_consumer / receiver. Pulled KV (orchestrated) has no NIXL push: the
 * decode engine pulls from the prefill pod's KV port, which the simulator's
 * prefill engine opens.
 */
function pdModelSpecs(v: HelmConfigVars, names: ReleaseNames, base: Values, pd: NonNullable<HelmNode['pd']>): Values[] {
  const push = pd.routingLogic === 'disaggregated_prefill';
  const gpus = v.vllm_engine === 'vllm' && (v.vllm_request_gpu ?? 0) > 0;
  const baseArgs = ((base.vllmConfig as Values).extraArgs as string[] | undefined) ?? [];
  const spec = (leg: 'prefill' | 'decode', replicas: number): Values => {
    const sender = leg === 'prefill';
    const simArgs = v.vllm_engine === 'sim' ? ['--kv-transfer-tokens-per-second', String(need(v, 'vllm_sim_kv_transfer_tokens_per_sec')), ...(!push && sender ? ['--kv-port', String(CHART_KV_PORT)] : [])] : [];
    const extraArgs = [...baseArgs, ...simArgs];
    return {
      ...base,
      name: names.pdModels[leg],
      replicaCount: replicas,
      labels: { model: names.pdModels[leg] },
      vllmConfig: { ...(base.vllmConfig as Values), ...(extraArgs.length > 0 ? { extraArgs } : {}) },
      lmcacheConfig: {
        // The chart writes nixlRole into --kv-transfer-config whenever enablePD is set, so it is always given; NIXL pushes only when enabled.
        enabled: true, enablePD: true, kvRole: sender ? 'kv_producer' : 'kv_consumer', cpuOffloadingBufferSize: '0', nixlRole: sender ? 'sender' : 'receiver', enableNixl: push,
        ...(push ? {
          nixlPeerHost: sender ? `${names.release}-${names.pdModels.decode}-engine-service` : '0.0.0.0',
          nixlPeerPort: String(CHART_KV_PORT), nixlBufferSize: '1073741824', nixlBufferDevice: gpus ? 'cuda' : 'cpu',
        } : {}),
      },
    };
  };
  return [spec('prefill', pd.prefill), spec('decode', pd.decode)];
}

/**
 * KEDA's ScaledObject, given to the chart as an extra object: the chart's own `keda` block cannot
 * carry it (its values schema types `triggers` as an object where KEDA needs a list, and its default
 * trigger queries a `model` label that vLLM's metrics do not have).
 */
export function scaledObject(v: HelmConfigVars, names: ReleaseNames): Values {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: names.scaledObject, namespace: names.namespace, labels: { ...names.engineLabels, 'app.kubernetes.io/managed-by': 'helm' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names.engineDeployment },
      minReplicaCount: need(v, 'vllm_autoscaling_min_replicas'),
      maxReplicaCount: need(v, 'vllm_autoscaling_max_replicas'),
      pollingInterval: 15,
      cooldownPeriod: 120,
      triggers: [{
        type: 'prometheus',
        metadata: {
          serverAddress: `http://prometheus-operated.${names.namespace}.svc:9090`,
          query: waitingQuery(names),
          threshold: String(need(v, 'vllm_autoscaling_waiting_threshold')),
        },
      }],
    },
  };
}

const isMap = (x: unknown): x is Values => x !== null && typeof x === 'object' && !Array.isArray(x);

/** b over a: maps merged key by key, lists (extraObjects) joined. */
export function mergeValues(a: Values, b: Values): Values {
  const out: Values = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const mine = out[k];
    out[k] = isMap(mine) && isMap(v) ? mergeValues(mine, v) : Array.isArray(mine) && Array.isArray(v) ? [...mine, ...v] : v;
  }
  return out;
}

/**
 * The node's values; `observability` is the observability library's part (dashboards, alert
 * rules, ServiceMonitor labels: observabilityValues()), merged in when observability is on.
 */
export function helmValues(v: HelmConfigVars, node: HelmNode, secrets: SecretPresence, observability: Values | null = null): Values {
  const names = nodeReleaseNames(v, node);
  const monitored = v.vllm_observability_enabled;
  const values: Values = {
    servingEngineSpec: {
      labels: names.engineLabels,
      // Pinned tags: a node's image, once pulled (or loaded with minikube image load), is the one to run.
      imagePullPolicy: 'IfNotPresent',
      ...(secrets.apiKey ? { vllmApiKey: { secretName: names.secrets, secretKey: 'vllmApiKey' } } : {}),
      serviceMonitor: { enabled: monitored },
      modelSpec: node.pd ? pdModelSpecs(v, names, modelSpec(v, node, names, secrets), node.pd) : [modelSpec(v, node, names, secrets)],
    },
    routerSpec: v.vllm_router_enabled ? {
      enableRouter: true,
      ...routerImage(v, node),
      imagePullPolicy: 'IfNotPresent',
      // How the harness reaches the router (targets/kube/router-address.ts reads it back from the Service).
      serviceType: need(v, 'vllm_router_service_type'),
      labels: names.routerLabels,
      routingLogic: node.pd ? node.pd.routingLogic : node.routingLogic,
      sessionKey: need(v, 'vllm_router_session_key'),
      engineScrapeInterval: need(v, 'vllm_router_engine_stats_interval'),
      requestStatsWindow: need(v, 'vllm_router_request_stats_window'),
      // Flags only this project's router has (the suites expect what they say), and the two pools' labels.
      ...(node.routerImpl === 'builtin' || node.pd ? {
        extraArgs: [
          ...(node.routerImpl === 'builtin' ? ['--request-timeout', String(need(v, 'vllm_router_request_timeout')), '--max-concurrency', String(need(v, 'vllm_router_max_concurrency')),
            '--outlier-consecutive-5xx', String(need(v, 'vllm_router_outlier_consecutive_5xx')),
            ...(v.vllm_lora_enabled && node.loraAffinity ? ['--lora-affinity'] : [])] : []),
          ...(node.pd ? ['--prefill-model-labels', names.pdModels.prefill, '--decode-model-labels', names.pdModels.decode] : []),
        ],
      } : {}),
      serviceMonitor: { enabled: monitored },
    } : { enableRouter: false },
    // One Prometheus and Grafana per namespace: the baseline release brings them and scrapes both nodes.
    // Fixed names, so that vllm-monitor finds Prometheus and Grafana (monitoringNames in targets/kube/monitor-kube.ts).
    'kube-prometheus-stack': monitored && node.role === 'baseline'
      ? { enabled: true, fullnameOverride: `${names.release}-kps`, grafana: { fullnameOverride: `${names.release}-grafana`, admin: { existingSecret: names.grafanaAdmin, userKey: 'admin-user', passwordKey: 'admin-password' } } }
      : { enabled: false },
  };
  const lora = loraPlan(v);
  if (lora) {
    values.loraAdapters = loraAdapterValues(lora, names, v.vllm_replica_count);
    values.loraController = { enableLoraController: true };
  }
  if (v.vllm_autoscaling_enabled) values.extraObjects = [scaledObject(v, names)];
  return observability && v.vllm_observability_enabled ? mergeValues(values, observability) : values;
}
