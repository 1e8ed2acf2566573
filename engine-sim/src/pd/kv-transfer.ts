// One engine's part in disaggregated prefill. A producer answers prefill-only
// requests and then pushes the prompt's KV to its peers (LMCache NIXL), or
// holds it for the decode engine to pull (kv_transfer_params, orchestrated).
// A consumer decodes with the transferred KV, or recomputes the prompt when
// it never arrived. Every transfer crosses a real connection and takes the
// modelled wire time.
import type { Registry } from 'prom-client';
import { kvRequest, KvListener } from './kv-link.js';
import { type KvEntry, KvStore } from './kv-store.js';
import { type PdSettings, transferMs } from './kv-config.js';
import { PdMetrics } from './metrics.js';
import type { KvTransferRequest } from './transfer-params.js';

/** A transfer slower than this failed (the prompt is recomputed). */
const TRANSFER_TIMEOUT_MS = 30_000;

export interface PrefillAnswer {
  /** The kv_transfer_params for the answer (orchestrated), or null. */
  params: Record<string, unknown> | null;
}

export interface DecodeKv {
  /** The prompt's KV is here: nothing to recompute. */
  present: boolean;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export class KvTransfer {
  readonly metrics: PdMetrics;
  private readonly received: KvStore;
  private readonly held: KvStore;
  private listener: KvListener | null = null;
  /** The side channel's port once listening. */
  port: number | null = null;

  constructor(readonly settings: PdSettings, registry: Registry, model: string, capacityBlocks: number, private readonly timeScale: () => number,
    private readonly instanceId: () => string, private readonly log: (line: string) => void = () => {}) {
    this.metrics = new PdMetrics(registry, model);
    this.received = new KvStore(capacityBlocks);
    this.held = new KvStore(capacityBlocks);
  }

  async listen(host: string): Promise<void> {
    if (this.settings.kvPort === null) return;
    this.listener = new KvListener({
      received: (key, entry) => {
        this.received.put(key, entry);
        this.metrics.blocksReceived.inc(entry.blocks);
      },
      pull: async (key) => {
        const e = this.held.take(key);
        if (e) {
          await sleep(this.wireMs(e.tokens));
          this.metrics.blocksSent.inc(e.blocks);
        }
        return e;
      },
    });
    this.port = await this.listener.listen(this.settings.kvPort, host);
  }

  close(): Promise<void> {
    return this.listener?.close() ?? Promise.resolve();
  }

  private wireMs(tokens: number): number {
    return transferMs(tokens, this.settings.kvTransferTokensPerSecond, this.timeScale());
  }

  /** This request is a prefill for a decode engine: one token, then its KV goes out. */
  prefillOnly(maxTokens: number | null, kv: KvTransferRequest | null): boolean {
    const role = this.settings.kvRole;
    if (kv?.doRemoteDecode) return role === 'producer' || role === 'both';
    // disaggregated_prefill marks the prefill leg by max_tokens 1 only.
    return role === 'producer' && maxTokens === 1;
  }

  /** This request should find its prompt's KV transferred here. */
  expectsKv(kv: KvTransferRequest | null): boolean {
    const role = this.settings.kvRole;
    if (kv?.doRemotePrefill) return role === 'consumer' || role === 'both';
    return role === 'consumer';
  }

  /** After the prefill of a prefill-only request: push the KV to the peers, or hold it and say where (orchestrated). */
  async shipPrefill(key: string, entry: KvEntry, kv: KvTransferRequest | null): Promise<PrefillAnswer> {
    this.metrics.prefillOnly.inc();
    const peers = this.settings.kvPeers;
    if (kv?.doRemoteDecode || peers.length === 0) {
      this.held.put(key, entry);
      return {
        params: {
          do_remote_prefill: true, do_remote_decode: false, remote_engine_id: this.instanceId(),
          remote_block_ids: Array.from({ length: entry.blocks }, (_, i) => i), remote_host: null, remote_port: this.port, tp_size: 1,
        },
      };
    }
    const started = performance.now();
    await Promise.all(peers.map(async (peer) => {
      try {
        await sleep(this.wireMs(entry.tokens));
        const reply = await kvRequest(peer.host, peer.port, { op: 'put', key, ...entry }, TRANSFER_TIMEOUT_MS);
        if (!reply.ok) throw new Error(reply.error);
        this.metrics.blocksSent.inc(entry.blocks);
        this.metrics.transfers.inc();
      } catch (err) {
        this.metrics.transferFailures.inc();
        this.log(`KV push to ${peer.host}:${peer.port} failed: ${(err as Error).message}`);
      }
    }));
    this.metrics.transferSeconds.inc((performance.now() - started) / 1000);
    return { params: null };
  }

  /** Before a decode's prefill: the prompt's KV, pulled (orchestrated) or pushed earlier; counted recomputed when absent. */
  async kvForDecode(key: string, blocks: number, kv: KvTransferRequest | null): Promise<DecodeKv> {
    let present = false;
    if (kv?.doRemotePrefill && kv.remoteHost !== null && kv.remotePort !== null) {
      const started = performance.now();
      try {
        const reply = await kvRequest(kv.remoteHost, kv.remotePort, { op: 'get', key }, TRANSFER_TIMEOUT_MS);
        if (!reply.ok) throw new Error(reply.error);
        this.metrics.blocksReceived.inc(reply.blocks);
        this.metrics.transfers.inc();
        this.metrics.transferSeconds.inc((performance.now() - started) / 1000);
        present = true;
      } catch (err) {
        this.metrics.transferFailures.inc();
        this.log(`KV pull from ${kv.remoteHost}:${kv.remotePort} failed: ${(err as Error).message}`);
      }
    } else {
      present = this.received.take(key) !== null;
    }
    if (present) this.metrics.decodesWithKv.inc();
    else {
      this.metrics.recomputedRequests.inc();
      this.metrics.recomputedBlocks.inc(blocks);
    }
    return { present };
  }
}
