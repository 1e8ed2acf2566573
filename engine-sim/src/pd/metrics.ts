// The simulator's disaggregated-prefill counters: what a pd check reads from
// each engine to prove where requests were prefilled and decoded.
import { Counter, type Registry } from 'prom-client';

export class PdMetrics {
  /** Requests answered as prefill only (one token, KV shipped or held for a decode engine). */
  readonly prefillOnly;
  readonly blocksSent;
  readonly blocksReceived;
  /** Decodes whose prompt's KV was present (transferred): no prompt recomputed. */
  readonly decodesWithKv;
  /** Decodes whose prompt's KV never arrived: the prompt was recomputed here. */
  readonly recomputedRequests;
  readonly recomputedBlocks;
  readonly transfers;
  readonly transferFailures;
  readonly transferSeconds;

  constructor(registry: Registry, model: string) {
    const labels = { model_name: model };
    const ctr = (name: string, help: string) => new Counter({ name, help, labelNames: ['model_name'], registers: [registry] }).labels(labels);
    this.prefillOnly = ctr('engine_sim:pd_prefill_only_requests_total', 'Requests served as prefill only for a decode engine.');
    this.blocksSent = ctr('engine_sim:pd_kv_blocks_sent_total', 'KV blocks sent to decode engines (pushed, or pulled from here).');
    this.blocksReceived = ctr('engine_sim:pd_kv_blocks_received_total', 'KV blocks received from prefill engines.');
    this.decodesWithKv = ctr('engine_sim:pd_decodes_with_transferred_kv_total', 'Decodes that found their prompt\'s KV transferred: nothing recomputed.');
    this.recomputedRequests = ctr('engine_sim:pd_recomputed_requests_total', 'Decodes whose prompt\'s KV never arrived, so the prompt was recomputed.');
    this.recomputedBlocks = ctr('engine_sim:pd_kv_blocks_recomputed_total', 'Prompt blocks recomputed because their KV never arrived.');
    this.transfers = ctr('engine_sim:pd_kv_transfers_total', 'KV transfers completed (pushes sent or pulls received).');
    this.transferFailures = ctr('engine_sim:pd_kv_transfer_failures_total', 'KV transfers that failed (peer unreachable, nothing held).');
    this.transferSeconds = ctr('engine_sim:pd_kv_transfer_seconds_total', 'Time spent moving KV, seconds (measured on the connection).');
  }
}
