// Command lines of the processes a local node runs, as pure functions of the
// spec: what `ps` shows is exactly what these return.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adaptersOnEngine } from '../../config/lora.js';
import { ENGINE_HOST, engineGpus, engineId, enginePort, engineRole, engineUrl, PD_LABELS, type NodePlan, type VllmRuntime } from '../../vocabulary/node-plan.js';

export interface ProcessCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Consecutive arguments that identify this process among all others. */
  marker: string[];
  /**
   * Run once the process is gone, however it ended: what it leaves behind
   * (an engine container, which a SIGKILLed docker client cannot stop).
   */
  cleanup?: string[];
}

// The compiled services sit beside this library in dist/.
const SIM_MAIN = fileURLToPath(new URL('../../../../engine-sim/src/main.js', import.meta.url));
const ROUTER_MAIN = fileURLToPath(new URL('../../../../router/src/main.js', import.meta.url));

export function nodeLayout(workDir: string) {
  return {
    logs: join(workDir, 'logs'),
    pids: join(workDir, 'pids'),
    routerConfig: join(workDir, 'router-config.json'),
    prometheusConfig: join(workDir, 'prometheus.yml'),
    prometheusRules: join(workDir, 'alerts.yml'),
    prometheusData: join(workDir, 'prometheus-data'),
  };
}

/** The adapters engine `index` serves from the start, as vLLM's --lora-modules (none: no flag). */
export function loraModuleArgs(spec: NodePlan, index: number): string[] {
  const lora = spec.engine.lora ?? null;
  const mine = lora === null ? [] : adaptersOnEngine(lora.adapters, index, spec.replicas);
  return mine.length === 0 ? [] : ['--lora-modules', ...mine.map((a) => `${a.name}=${a.path}`)];
}

/**
 * A disaggregating node's per-engine flags and environment: the simulator's
 * roles directly; vLLM's as the production-stack chart renders them (LMCache
 * NIXL for the pushed KV, vLLM's NixlConnector side channel for the pulled).
 */
export function pdEngineSetup(spec: NodePlan, index: number): { flags: string[]; env: Record<string, string> } {
  const pd = spec.pd;
  const role = engineRole(spec, index);
  if (!pd || role === 'colocated') return { flags: [], env: {} };
  const push = pd.routingLogic === 'disaggregated_prefill';
  const ownPort = String(pd.kvPortBase + index);
  // A prefill engine pushes to every decode engine the node starts with (LMCache's NIXL peers).
  const peers = Array.from({ length: pd.decode }, (_, j) => `${ENGINE_HOST}:${pd.kvPortBase + pd.prefill + j}`);
  if (spec.engine.kind === 'sim') {
    const flags = ['--kv-role', role === 'prefill' ? 'producer' : 'consumer', '--kv-transfer-tokens-per-second', String(pd.kvTransferTokensPerSecond ?? 0)];
    if (role === 'prefill') flags.push(...(push ? ['--kv-peer', peers.join(',')] : ['--kv-port', ownPort]));
    else if (push) flags.push('--kv-port', ownPort);
    return { flags, env: {} };
  }
  const kvRole = role === 'prefill' ? 'kv_producer' : 'kv_consumer';
  if (!push) {
    return { flags: ['--kv-transfer-config', JSON.stringify({ kv_connector: 'NixlConnector', kv_role: kvRole })], env: { VLLM_NIXL_SIDE_CHANNEL_PORT: ownPort } };
  }
  const sender = role === 'prefill';
  return {
    flags: ['--kv-transfer-config', JSON.stringify({ kv_connector: 'LMCacheConnectorV1', kv_role: kvRole, kv_connector_extra_config: { discard_partial_chunks: false, lmcache_rpc_port: sender ? 'sender' : 'receiver' } })],
    env: {
      LMCACHE_ENABLE_NIXL: 'True', LMCACHE_NIXL_ROLE: sender ? 'sender' : 'receiver',
      LMCACHE_NIXL_RECEIVER_HOST: ENGINE_HOST, LMCACHE_NIXL_RECEIVER_PORT: sender ? String(pd.kvPortBase + pd.prefill) : ownPort,
      LMCACHE_LOCAL_CPU: 'False', LMCACHE_MAX_LOCAL_CPU_SIZE: '0',
    },
  };
}

export function engineCommand(spec: NodePlan, index: number): ProcessCommand {
  const port = String(enginePort(spec, index));
  const { engine } = spec;
  const pd = pdEngineSetup(spec, index);
  if (engine.kind === 'sim') {
    const instance = `${spec.node}-${engineId(index)}`;
    return {
      command: process.execPath,
      args: [SIM_MAIN, '--host', ENGINE_HOST, '--port', port, '--instance-id', instance,
        '--model', engine.modelUrl, '--served-model-name', engine.servedModelName, ...engine.flags, ...loraModuleArgs(spec, index), ...pd.flags],
      env: { ...engine.env, ...pd.env },
      marker: ['--instance-id', instance],
    };
  }
  const serve = ['serve', engine.modelUrl, '--host', ENGINE_HOST, '--port', port,
    '--served-model-name', engine.servedModelName, ...engine.flags, ...loraModuleArgs(spec, index), ...pd.flags];
  const env = { ...engine.env, ...pd.env };
  const marker = ['--host', ENGINE_HOST, '--port', port];
  const vllm = engine.vllm ?? null;
  if (vllm === null) return { command: 'vllm', args: serve, env, marker };
  const gpus = engineGpus(spec, index);
  if (vllm.install.kind === 'container') return containerCommand(spec, index, vllm, vllm.install, gpus, serve, env);
  // vllm serve on the host: its GPUs by CUDA_VISIBLE_DEVICES, models in the configured cache.
  const hostEnv = { ...env, HF_HOME: vllm.hfCacheDir, ...(gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus.join(',') } : {}) };
  const command = vllm.install.kind === 'venv' ? join(vllm.install.venvDir, 'bin', 'vllm') : 'vllm';
  return { command, args: serve, env: hostEnv, marker };
}

/** The engine container of engine `index`: one name per node and port, so a leftover one is found again. */
export function engineContainerName(spec: NodePlan, index: number): string {
  return `${spec.node}-${engineId(index)}-${enginePort(spec, index)}`;
}

/**
 * `docker|podman run` of the engine image in the foreground, so that the
 * harness's pid is the client's: SIGTERM reaches vLLM through the client's
 * signal proxy and the container's init; --rm removes it when vLLM exits,
 * and the cleanup removes it when the client was killed instead. The host's
 * network keeps the engine on loopback at the same port as `vllm serve`
 * (and the KV side channels of P/D engines reach each other). Secrets go by
 * name (--env NAME): docker reads their values from the client's environment,
 * so they are on no command line.
 */
function containerCommand(spec: NodePlan, index: number, vllm: VllmRuntime, install: Extract<VllmRuntime['install'], { kind: 'container' }>,
  gpus: number[], serve: string[], env: Record<string, string>): ProcessCommand {
  const name = engineContainerName(spec, index);
  const devices = gpus.length === 0 ? []
    : install.runtime === 'docker' ? ['--gpus', `"device=${gpus.join(',')}"`]
      : gpus.flatMap((g) => ['--device', `nvidia.com/gpu=${g}`]);
  const mounts = [`${vllm.hfCacheDir}:/root/.cache/huggingface`];
  // Adapters and LMCache's disk tier are host paths that the engine opens: the same path inside.
  for (const a of spec.engine.lora?.adapters ?? []) if (a.path.startsWith('/')) mounts.push(`${a.path}:${a.path}:ro`);
  if (env.LMCACHE_LOCAL_DISK) mounts.push(`${spec.workDir}:${spec.workDir}`);
  const args = ['run', '--rm', '--name', name, '--init', '--sig-proxy=true', '--network=host', '--ipc=host',
    ...devices, ...[...new Set(mounts)].flatMap((m) => ['-v', m]),
    ...Object.keys(env).sort().flatMap((k) => ['--env', k]),
    '--entrypoint', 'vllm', install.image, ...serve];
  return { command: install.runtime, args, env, marker: ['--name', name], cleanup: [install.runtime, 'rm', '--force', name] };
}

/** The router's dynamic config (production-stack format): rewriting it rescales without a restart. */
export function routerDynamicConfig(spec: NodePlan, engineIndexes: number[]): Record<string, unknown> {
  if (!spec.router) throw new Error(`node ${spec.node} runs no router`);
  const sorted = [...engineIndexes].sort((a, b) => a - b);
  return {
    service_discovery: 'static',
    static_backends: sorted.map((i) => engineUrl(spec, i)).join(','),
    static_models: sorted.map(() => spec.engine.servedModelName).join(','),
    ...(spec.pd ? { static_model_labels: sorted.map((i) => PD_LABELS[engineRole(spec, i) === 'prefill' ? 'prefill' : 'decode']).join(',') } : {}),
    routing_logic: spec.router.routingLogic,
    session_key: spec.router.sessionKey,
  };
}

export function routerCommand(spec: NodePlan, engineIndexes: number[]): ProcessCommand {
  const { router } = spec;
  if (!router) throw new Error(`node ${spec.node} runs no router`);
  const config = routerDynamicConfig(spec, engineIndexes);
  const configFile = nodeLayout(spec.workDir).routerConfig;
  const flags = ['--host', spec.routerHost, '--port', String(spec.routerPort),
    '--service-discovery', 'static',
    '--static-backends', String(config.static_backends),
    '--static-models', String(config.static_models),
    ...(spec.pd ? ['--static-model-labels', String(config.static_model_labels), '--prefill-model-labels', PD_LABELS.prefill, '--decode-model-labels', PD_LABELS.decode] : []),
    '--routing-logic', router.routingLogic,
    '--session-key', router.sessionKey,
    '--engine-stats-interval', String(router.engineStatsInterval),
    '--request-stats-window', String(router.requestStatsWindow),
    '--dynamic-config-json', configFile];
  const marker = ['--dynamic-config-json', configFile];
  if (router.impl === 'builtin') {
    // Flags of this project's router that the production-stack router lacks.
    const own = ['--outlier-consecutive-5xx', String(router.outlierConsecutive5xx), '--request-timeout', String(router.requestTimeout), '--max-concurrency', String(router.maxConcurrency),
      ...(router.loraAffinity ? ['--lora-affinity'] : [])];
    return { command: process.execPath, args: [ROUTER_MAIN, ...flags, ...own], env: router.env, marker };
  }
  // The production-stack router, installed with `pip install vllm-router`; its
  // console script has our bin's name, so it is started through its module.
  return { command: 'python3', args: ['-m', 'vllm_router.app', ...flags], env: router.env, marker };
}

export function prometheusCommand(spec: NodePlan): ProcessCommand {
  if (!spec.prometheus) throw new Error(`node ${spec.node} has observability off`);
  const layout = nodeLayout(spec.workDir);
  return {
    command: 'prometheus',
    args: [`--config.file=${layout.prometheusConfig}`, `--storage.tsdb.path=${layout.prometheusData}`,
      // Beside the router: loopback here, every interface on a declared host, so that the
      // controller's `make vllm-monitor` reaches it. Reloads go by SIGHUP, so the HTTP
      // lifecycle API (which lets anyone who reaches the port stop Prometheus) stays off.
      `--web.listen-address=${spec.routerHost}:${spec.prometheus.port}`],
    env: {},
    marker: [`--config.file=${layout.prometheusConfig}`],
  };
}
