// vLLM's --kv-transfer-config and LMCache's NIXL environment, as the
// production-stack chart renders them for disaggregated prefill, turned into
// the simulator's --kv-role / --kv-peer / --kv-port. The chart gives the
// prefill engine (kv_producer, LMCACHE_NIXL_ROLE=sender) the decode engine's
// address in LMCACHE_NIXL_RECEIVER_HOST/PORT, and the decode engine
// (kv_consumer, receiver) the address it listens on.
import { kvRoleOfVllm } from './kv-config.js';

export class KvConfigError extends Error {}

/** The simulator flags for a --kv-transfer-config value; [] when it sets no producer or consumer role. */
export function disaggregationArgs(text: string, env: NodeJS.ProcessEnv): string[] {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new KvConfigError(`--kv-transfer-config is not JSON: ${(err as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new KvConfigError('--kv-transfer-config must be a JSON object like {"kv_connector":"LMCacheConnectorV1","kv_role":"kv_producer"}');
  let role;
  try {
    role = kvRoleOfVllm((config as Record<string, unknown>).kv_role);
  } catch (err) {
    throw new KvConfigError((err as Error).message);
  }
  if (role === 'both' || role === 'none') return [];
  const args = ['--kv-role', role];
  const nixl = (env.LMCACHE_ENABLE_NIXL ?? '').toLowerCase() === 'true';
  const host = env.LMCACHE_NIXL_RECEIVER_HOST;
  const port = env.LMCACHE_NIXL_RECEIVER_PORT;
  const nixlRole = env.LMCACHE_NIXL_ROLE;
  if (nixl && nixlRole !== undefined && nixlRole !== 'sender' && nixlRole !== 'receiver') throw new KvConfigError(`LMCACHE_NIXL_ROLE=${nixlRole}: expected sender or receiver`);
  if (nixl && port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new KvConfigError(`LMCACHE_NIXL_RECEIVER_PORT=${port}: expected a port number`);
    if ((nixlRole ?? (role === 'producer' ? 'sender' : 'receiver')) === 'sender') {
      if (!host) throw new KvConfigError('LMCACHE_NIXL_ROLE=sender needs LMCACHE_NIXL_RECEIVER_HOST, the decode engine\'s address');
      args.push('--kv-peer', `${host}:${port}`);
    } else {
      args.push('--kv-port', port);
    }
  } else if (env.VLLM_NIXL_SIDE_CHANNEL_PORT) {
    // vLLM's own NixlConnector (orchestrated): the side channel a decode engine pulls from.
    args.push('--kv-port', env.VLLM_NIXL_SIDE_CHANNEL_PORT);
  }
  return args;
}
