// What every workload driver gets from the benchmark runner and gives back:
// a client, a deadline, the warm-up count, and a place to put each sample.
import type { RequestSample } from '../vocabulary/request-sample.js';
import type { StreamClient, StreamResult } from './stream-client.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WorkloadContext {
  client: StreamClient;
  model: string;
  /** The benchmark's time origin, performance.now(); samples are timed from it. */
  t0: number;
  /** performance.now() after which no request is sent. */
  endAt: number;
  repeat: number;
  /** Seed of this repeat's prompts: the same on baseline and dev. */
  seed: number;
  /** Header that names a session (multi-round QA's user id). */
  sessionKey: string;
  /** Numbers the next request; the first `warmup` numbers of the run are warm-up. */
  nextId(): { id: number; warmup: boolean };
  record(sample: RequestSample): void;
  /** How late a paced request was sent, ms: a client that falls behind its schedule is saturated. */
  lag(ms: number): void;
}

/** Milliseconds kept to the microsecond: finer digits are clock noise and bloat the samples file. */
const us = (ms: number): number => Math.round(ms * 1000) / 1000;

export function toSample(ctx: WorkloadContext, r: StreamResult, id: { id: number; warmup: boolean }, user: string | null = null, round: number | null = null): RequestSample {
  return {
    id: id.id, repeat: ctx.repeat, warmup: id.warmup, user, round,
    start_ms: us(r.sentAt - ctx.t0), ttft_ms: r.ttftMs === null ? null : us(r.ttftMs), itl_ms: r.itlMs.map(us), e2el_ms: us(r.e2elMs),
    prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, cached_tokens: r.cachedTokens,
    status: r.status, error_kind: r.errorKind, error: r.error, engine: r.engine,
  };
}

export const sleepUntil = (at: number): Promise<void> => {
  const ms = at - performance.now();
  return ms > 0 ? sleep(ms) : Promise.resolve();
};
