// Disaggregated prefill settings of one engine: its role in the KV transfer,
// where it pushes the KV it computes (its NIXL peers) and where it listens for
// KV (its side channel), and the modelled transfer bandwidth. Read from the
// simulator's flags, which the `vllm serve` entry point derives from vLLM's
// --kv-transfer-config and LMCache's LMCACHE_NIXL_* environment.

export const KV_ROLES = ['none', 'producer', 'consumer', 'both'] as const;
export type KvRole = (typeof KV_ROLES)[number];

export interface KvPeer {
  host: string;
  port: number;
}

export interface PdSettings {
  /** producer: computes prompts' KV for others (prefill engine); consumer: decodes with KV from others. */
  kvRole: KvRole;
  /** Where a producer pushes each prefill-only request's blocks (LMCache NIXL sender → receiver). Empty: it holds them for consumers to pull (orchestrated). */
  kvPeers: KvPeer[];
  /** The KV side channel's port (a consumer receives pushes there, a producer serves pulls); 0 = any free one, null = none. */
  kvPort: number | null;
  /** Modelled transfer bandwidth, prompt tokens per second (0 = instant). */
  kvTransferTokensPerSecond: number;
  /** Prefill tokens one scheduler step computes beside its decodes (vLLM's --max-num-batched-tokens): the chunk that stretches them; 0 = not modelled. */
  maxNumBatchedTokens: number;
}

export const PD_DEFAULTS: PdSettings = { kvRole: 'none', kvPeers: [], kvPort: null, kvTransferTokensPerSecond: 200_000, maxNumBatchedTokens: 0 };

export function parseKvRole(text: string): KvRole {
  if (!(KV_ROLES as readonly string[]).includes(text)) throw new Error(`--kv-role ${text}: expected one of ${KV_ROLES.join(', ')}`);
  return text as KvRole;
}

/** vLLM's kv_role names (kv_producer, kv_consumer, kv_both) as the simulator's. */
export function kvRoleOfVllm(kvRole: unknown): KvRole {
  if (kvRole === 'kv_producer') return 'producer';
  if (kvRole === 'kv_consumer') return 'consumer';
  if (kvRole === 'kv_both') return 'both';
  throw new Error(`--kv-transfer-config: kv_role ${JSON.stringify(kvRole)} is not one of kv_producer, kv_consumer, kv_both`);
}

export function parsePeer(text: string): KvPeer {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`KV peer "${text}" is not HOST:PORT (port 1-65535)`);
  return { host, port };
}

export function parsePeers(text: string): KvPeer[] {
  return text.split(',').map((p) => p.trim()).filter(Boolean).map(parsePeer);
}

/** Modelled time to move `tokens` prompt tokens' KV, ms. */
export function transferMs(tokens: number, tokensPerSecond: number, timeScale: number): number {
  return tokensPerSecond <= 0 ? 0 : (tokens / tokensPerSecond) * 1000 * timeScale;
}

/** Extra time of one decode step batched with running prefills: the chunk of prefill tokens the step also computes (vLLM's chunked prefill). */
export function interferenceMs(prefillingTokens: number, maxNumBatchedTokens: number, prefillTimePerToken: number, timeScale: number): number {
  return Math.min(prefillingTokens, maxNumBatchedTokens) * prefillTimePerToken * timeScale;
}
