// Both sides of a comparison prepared for resampling.
//
// Requests are paired: baseline and dev were sent the same workload, so the
// request of user u's round r (or the n-th serving request) on one side is the
// counterpart of the same on the other. The pairs are grouped into blocks of
// REQUEST_BLOCK_MS of sending time, and the bootstrap draws blocks of pairs:
// both sides get the same mix of requests (a multi-round QA run mixes slow
// first rounds with fast cached ones), and a host hiccup that delayed a few
// requests sent together counts once, not as independent luck.
//
// Throughput, goodput and inter-token gaps belong to moments, not to requests:
// a host hiccup stretches the gaps of every stream running at that moment.
// Each repeat is cut into windows of BLOCK_MS from its start, which baseline
// and dev share since they started together; the bootstrap draws windows for
// both sides at once.
import { meetsSlo, type Slo } from '../vocabulary/bench-summary.js';
import { succeeded, tpotMs, type RequestSample } from '../vocabulary/request-sample.js';

export const BLOCK_MS = 1000;
/** Request blocks: pairs sent within this long of each other are drawn together. */
export const REQUEST_BLOCK_MS = 250;

/** Unit numbers grouped by repeat: resampling stays within a repeat. */
export type Strata = number[][];

export interface Side {
  requests: RequestSample[];
  /** Requests of request block b: blockRequests[blockStart[b]..blockStart[b+1]]. */
  blockStart: Int32Array;
  blockRequests: Int32Array;
  /** Output tokens and SLO-meeting answers that arrived in each time window. */
  windowTokens: Float64Array;
  windowGood: Float64Array;
  /** Inter-token gaps by the window they ended in: windowGaps[windowGapStart[w]..windowGapStart[w+1]]. */
  windowGapStart: Int32Array;
  windowGaps: Float64Array;
  /** Per measured request: 1 when it failed; its TTFT, TPOT and E2EL (NaN when failed or undefined). */
  failed: Uint8Array;
  ttft: Float64Array;
  tpot: Float64Array;
  e2el: Float64Array;
  /** Scratch space for order statistics and resampled request lists; grown on demand. */
  scratch: Float64Array;
  picked: Int32Array;
}

export interface Pair {
  base: Side;
  dev: Side;
  /** Request blocks, and time windows, by repeat. */
  blockStrata: Strata;
  windowStrata: Strata;
}

/** What makes two requests counterparts: the same place in the same workload. */
export function pairKey(s: RequestSample): string {
  return s.user !== null ? `${s.repeat}/${s.user}/${s.round ?? 0}` : `${s.repeat}/#${s.id}`;
}

/** A repeat starts with its first request, warm-up included: the moment the nodes agreed on. */
function origins(samples: RequestSample[]): Map<number, number> {
  const start = new Map<number, number>();
  for (const s of samples) start.set(s.repeat, Math.min(start.get(s.repeat) ?? Infinity, s.start_ms));
  return start;
}

function sideColumns(samples: RequestSample[]) {
  const requests = samples.filter((s) => !s.warmup);
  const n = requests.length;
  const failed = new Uint8Array(n);
  const ttft = new Float64Array(n).fill(NaN);
  const tpot = new Float64Array(n).fill(NaN);
  const e2el = new Float64Array(n).fill(NaN);
  requests.forEach((s, i) => {
    if (!succeeded(s)) {
      failed[i] = 1;
      return;
    }
    ttft[i] = s.ttft_ms ?? NaN;
    tpot[i] = tpotMs(s) ?? NaN;
    e2el[i] = s.e2el_ms;
  });
  return { requests, failed, ttft, tpot, e2el };
}

/** Time windows per repeat over the longer side, numbered consecutively; the window of a time on a side. */
function windows(a: RequestSample[], b: RequestSample[]) {
  const last = new Map<number, number>();
  for (const side of [a, b]) {
    const origin = origins(side);
    for (const s of side) {
      const k = Math.floor((s.start_ms + s.e2el_ms - (origin.get(s.repeat) as number)) / BLOCK_MS);
      last.set(s.repeat, Math.max(last.get(s.repeat) ?? 0, k));
    }
  }
  const offset = new Map<number, number>();
  const strata: Strata = [];
  let count = 0;
  for (const r of [...last.keys()].sort((x, y) => x - y)) {
    const n = (last.get(r) as number) + 1;
    offset.set(r, count);
    strata.push(Array.from({ length: n }, (_, k) => count + k));
    count += n;
  }
  return { offset, strata, count };
}

function windowRates(samples: RequestSample[], requests: RequestSample[], slo: Slo, w: ReturnType<typeof windows>) {
  const origin = origins(samples);
  const at = (s: RequestSample, t: number) => (w.offset.get(s.repeat) as number) + Math.max(0, Math.floor((t - (origin.get(s.repeat) as number)) / BLOCK_MS));
  const tokens = new Float64Array(w.count);
  const good = new Float64Array(w.count);
  const gaps: number[][] = Array.from({ length: w.count }, () => []);
  for (const s of requests) {
    if (!succeeded(s)) continue;
    if (meetsSlo(s, slo)) good[at(s, s.start_ms + s.e2el_ms)]! += 1;
    if (s.ttft_ms === null) continue;
    // Tokens count when they arrived, spread evenly over the chunks that carried them.
    const perChunk = (s.completion_tokens ?? 0) / (s.itl_ms.length + 1);
    let t = s.start_ms + s.ttft_ms;
    tokens[at(s, t)]! += perChunk;
    for (const g of s.itl_ms) {
      t += g;
      const k = at(s, t);
      tokens[k]! += perChunk;
      gaps[k]!.push(g);
    }
  }
  const windowGapStart = new Int32Array(w.count + 1);
  gaps.forEach((list, k) => {
    windowGapStart[k + 1] = (windowGapStart[k] as number) + list.length;
  });
  return { windowTokens: tokens, windowGood: good, windowGapStart, windowGaps: Float64Array.from(gaps.flat()) };
}

/**
 * Request blocks: every pair key, placed by its baseline request's send time
 * (its dev request's when the baseline has none), cut every REQUEST_BLOCK_MS per repeat.
 */
function requestBlocks(base: RequestSample[], baseAll: RequestSample[], dev: RequestSample[], devAll: RequestSample[]) {
  const baseOrigin = origins(baseAll);
  const devOrigin = origins(devAll);
  const place = new Map<string, { repeat: number; block: number }>();
  const blk = (t: number) => Math.floor(t / REQUEST_BLOCK_MS);
  for (const s of dev) place.set(pairKey(s), { repeat: s.repeat, block: blk(s.start_ms - (devOrigin.get(s.repeat) as number)) });
  for (const s of base) place.set(pairKey(s), { repeat: s.repeat, block: blk(s.start_ms - (baseOrigin.get(s.repeat) as number)) });
  const numbers = new Map<string, number>();
  const strata = new Map<number, number[]>();
  const ordered = [...new Set([...place.values()].map((p) => `${p.repeat}:${p.block}`))]
    .map((k) => k.split(':').map(Number) as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  ordered.forEach(([repeat, block], i) => {
    numbers.set(`${repeat}:${block}`, i);
    strata.set(repeat, [...(strata.get(repeat) ?? []), i]);
  });
  const blockOf = (s: RequestSample) => {
    const p = place.get(pairKey(s)) as { repeat: number; block: number };
    return numbers.get(`${p.repeat}:${p.block}`) as number;
  };
  return { count: ordered.length, strata: [...strata.values()], blockOf };
}

function membership(requests: RequestSample[], count: number, blockOf: (s: RequestSample) => number) {
  const members: number[][] = Array.from({ length: count }, () => []);
  requests.forEach((s, i) => members[blockOf(s)]!.push(i));
  const blockStart = new Int32Array(count + 1);
  members.forEach((m, b) => {
    blockStart[b + 1] = (blockStart[b] as number) + m.length;
  });
  return { blockStart, blockRequests: Int32Array.from(members.flat()) };
}

export function preparePair(base: RequestSample[], baseSlo: Slo, dev: RequestSample[], devSlo: Slo): Pair {
  const b = sideColumns(base);
  const d = sideColumns(dev);
  const w = windows(base, dev);
  const blocks = requestBlocks(b.requests, base, d.requests, dev);
  const side = (all: RequestSample[], cols: ReturnType<typeof sideColumns>, slo: Slo): Side => ({
    ...cols, ...membership(cols.requests, blocks.count, blocks.blockOf), ...windowRates(all, cols.requests, slo, w),
    scratch: new Float64Array(Math.max(1, cols.requests.length) * 2),
    picked: new Int32Array(Math.max(1, cols.requests.length) * 2),
  });
  return { base: side(base, b, baseSlo), dev: side(dev, d, devSlo), blockStrata: blocks.strata, windowStrata: w.strata };
}

/** The requests of the given request blocks (with repeats), in side.picked (grown when a resample needs more room). */
export function requestsOf(s: Side, blocks: Int32Array): Int32Array {
  let n = 0;
  for (let k = 0; k < blocks.length; k++) n += (s.blockStart[(blocks[k] as number) + 1] as number) - (s.blockStart[blocks[k] as number] as number);
  if (n > s.picked.length) s.picked = new Int32Array(n * 2);
  n = 0;
  for (let k = 0; k < blocks.length; k++) {
    const b = blocks[k] as number;
    const to = s.blockStart[b + 1] as number;
    for (let j = s.blockStart[b] as number; j < to; j++) s.picked[n++] = s.blockRequests[j] as number;
  }
  return s.picked.subarray(0, n);
}
