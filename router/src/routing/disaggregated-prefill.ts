// Disaggregated prefill, the pure part: which engines are prefill and which
// decode (their `model` label against --prefill-model-labels and
// --decode-model-labels), and the two requests made of the client's one, as
// production-stack's router makes them. disaggregated_prefill: the prefill
// engine gets max_tokens 1, non-streaming, and the KV moves out of band
// (LMCache NIXL); disaggregated_prefill_orchestrated: the prefill request asks
// for a remote decode with kv_transfer_params, and the prefill answer's
// kv_transfer_params (with the prefill engine's host) go with the decode request.

export const DISAGGREGATED_LOGICS = ['disaggregated_prefill', 'disaggregated_prefill_orchestrated'] as const;
export type DisaggregatedLogic = (typeof DISAGGREGATED_LOGICS)[number];

export function isDisaggregated(logic: string): logic is DisaggregatedLogic {
  return (DISAGGREGATED_LOGICS as readonly string[]).includes(logic);
}

/** The routes split into a prefill and a decode leg; the others go to any engine of the model. */
export const DISAGGREGATED_PATHS = new Set(['/v1/chat/completions', '/v1/completions']);

export type Leg = 'prefill' | 'decode';

export interface PoolLabels {
  prefill: string[];
  decode: string[];
}

/** The leg an engine of this label serves, or null when it is in neither pool. */
export function legOf(label: string, labels: PoolLabels): Leg | null {
  if (labels.prefill.includes(label)) return 'prefill';
  if (labels.decode.includes(label)) return 'decode';
  return null;
}

/** The orchestrated prefill request's kv_transfer_params: compute the KV here, decode elsewhere. */
export const REMOTE_DECODE_PARAMS = Object.freeze({
  do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null,
});

/** The prefill leg's body: one token, not streamed, with kv_transfer_params when orchestrated. */
export function prefillBody(body: Record<string, unknown>, logic: DisaggregatedLogic): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, max_tokens: 1, stream: false };
  delete out.max_completion_tokens;
  delete out.stream_options;
  if (logic === 'disaggregated_prefill_orchestrated') out.kv_transfer_params = { ...REMOTE_DECODE_PARAMS };
  return out;
}

/** The host of an engine URL (brackets off an IPv6 address): where a decode engine pulls the KV from. */
export function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/**
 * The decode leg's body: the client's request unchanged (disaggregated_prefill),
 * or with the prefill answer's kv_transfer_params and the prefill engine's host
 * (orchestrated). Null when an orchestrated prefill answered without them.
 */
export function decodeBody(body: Record<string, unknown>, logic: DisaggregatedLogic, prefillAnswer: unknown, prefillUrl: string): Record<string, unknown> | null {
  if (logic === 'disaggregated_prefill') return body;
  const params = typeof prefillAnswer === 'object' && prefillAnswer !== null ? (prefillAnswer as Record<string, unknown>).kv_transfer_params : undefined;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return null;
  return { ...body, kv_transfer_params: { ...params, remote_host: hostOf(prefillUrl) } };
}
