// The latency model (after llm-d-inference-sim): time to first token grows
// with the uncached prompt tokens, offloaded tokens cost less than a full
// prefill, and both prefill and decode slow down as more requests run.

export interface LatencySettings {
  /** Fixed cost before the first token, ms. */
  prefillOverhead: number;
  /** Per uncached prompt token, ms. */
  prefillTimePerToken: number;
  /** Per prompt token found in the offload tier, ms. */
  offloadTimePerToken: number;
  /** Between two output tokens, ms. */
  interTokenLatency: number;
  /** Slowdown when maxNumSeqs requests run (1 = none). */
  loadFactor: number;
  /** Relative standard deviation of the jitter (0 = none). */
  jitter: number;
  /** Multiplies every delay; 0 answers at once. */
  timeScale: number;
}

/** 1 with one running request, loadFactor with maxNumSeqs of them, linear in between. */
export function loadMultiplier(loadFactor: number, running: number, maxNumSeqs: number): number {
  if (maxNumSeqs <= 1) return 1;
  const r = Math.min(Math.max(running, 1), maxNumSeqs);
  return 1 + ((loadFactor - 1) * (r - 1)) / (maxNumSeqs - 1);
}

/** A seeded generator (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Multiplier around 1 with the given relative spread, clamped to [0.3, 1.7]. */
export function jitterFactor(spread: number, random: () => number): number {
  if (spread <= 0) return 1;
  // Box-Muller: a normal deviate from two uniforms.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(1.7, Math.max(0.3, 1 + spread * z));
}

/** Prefill time in ms (queue wait not included: it is measured, not modelled). */
export function prefillMs(s: LatencySettings, uncachedTokens: number, offloadedTokens: number, running: number, maxNumSeqs: number, random: () => number): number {
  const base = s.prefillOverhead + uncachedTokens * s.prefillTimePerToken + offloadedTokens * s.offloadTimePerToken;
  return base * loadMultiplier(s.loadFactor, running, maxNumSeqs) * jitterFactor(s.jitter, random) * s.timeScale;
}

export function interTokenMs(s: LatencySettings, running: number, maxNumSeqs: number, random: () => number): number {
  return s.interTokenLatency * loadMultiplier(s.loadFactor, running, maxNumSeqs) * jitterFactor(s.jitter, random) * s.timeScale;
}
