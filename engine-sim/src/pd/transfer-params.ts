// kv_transfer_params, as vLLM's NixlConnector reads them from a request and
// writes them into a prefill's answer (production-stack's
// disaggregated_prefill_orchestrated carries them from one to the other).
import { badRequest } from '../errors.js';

export interface KvTransferRequest {
  /** A prefill for another engine to decode: compute the KV, answer one token, hold the blocks. */
  doRemoteDecode: boolean;
  /** A decode whose prompt's KV is on another engine: pull it from remoteHost:remotePort. */
  doRemotePrefill: boolean;
  remoteHost: string | null;
  remotePort: number | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request's kv_transfer_params, or null when it has none. */
export function parseKvTransferParams(body: Record<string, unknown>): KvTransferRequest | null {
  const p = body.kv_transfer_params;
  if (p === undefined || p === null) return null;
  if (!isObject(p)) throw badRequest('kv_transfer_params must be an object', 'kv_transfer_params');
  const flag = (name: string) => {
    const v = p[name];
    if (v !== undefined && v !== null && typeof v !== 'boolean') throw badRequest(`kv_transfer_params.${name} must be a boolean`, 'kv_transfer_params');
    return v === true;
  };
  const host = p.remote_host;
  const port = p.remote_port;
  if (host !== undefined && host !== null && typeof host !== 'string') throw badRequest('kv_transfer_params.remote_host must be a string', 'kv_transfer_params');
  if (port !== undefined && port !== null && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw badRequest('kv_transfer_params.remote_port must be a port number', 'kv_transfer_params');
  }
  const doRemotePrefill = flag('do_remote_prefill');
  if (doRemotePrefill && (typeof host !== 'string' || typeof port !== 'number')) {
    throw badRequest('kv_transfer_params.do_remote_prefill needs remote_host and remote_port (the prefill engine\'s answer has them)', 'kv_transfer_params');
  }
  return { doRemoteDecode: flag('do_remote_decode'), doRemotePrefill, remoteHost: typeof host === 'string' ? host : null, remotePort: typeof port === 'number' ? port : null };
}
