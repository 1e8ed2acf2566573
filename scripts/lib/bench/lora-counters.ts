// Per-adapter figures from the engines' own counters (the simulator's
// vllm_sim:lora_* series; vLLM exports none): requests, swap-ins and the
// mean time to first token of each adapter over a workload, summed over engines.
import { SIM_LORA_COUNTERS as L } from '../vocabulary/engine-counters.js';
import { parseMetricsText } from '../vocabulary/prometheus-text.js';
import type { EngineInfo } from '../stack/stack-handle.js';
import type { AdapterFigures, LoraFigures } from '../vocabulary/bench-result.js';

type Raw = Map<string, { requests: number; swaps: number; ttftSum: number; ttftCount: number }>;

const SCRAPE_TIMEOUT_MS = 5000;

export function parseLoraCounters(text: string): Raw {
  const out: Raw = new Map();
  const row = (name: string) => {
    let r = out.get(name);
    if (!r) out.set(name, (r = { requests: 0, swaps: 0, ttftSum: 0, ttftCount: 0 }));
    return r;
  };
  for (const s of parseMetricsText(text, { unreadable: 'skip' })) {
    const name = s.labels.lora_name;
    if (!name) continue;
    if (s.name === L.requests) row(name).requests += s.value;
    else if (s.name === L.swaps) row(name).swaps += s.value;
    else if (s.name === L.ttftSecondsSum) row(name).ttftSum += s.value;
    else if (s.name === L.ttftSecondsCount) row(name).ttftCount += s.value;
  }
  return out;
}

/** Every engine's counters summed; null when no engine exports them (real vLLM). */
export async function readLoraCounters(engines: EngineInfo[]): Promise<Raw | null> {
  const sum: Raw = new Map();
  let seen = false;
  await Promise.all(engines.map(async (e) => {
    try {
      const res = await fetch(e.metricsUrl, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      const text = res.ok ? await res.text() : '';
      if (!text.includes(L.requests)) return;
      seen = true;
      for (const [name, r] of parseLoraCounters(text)) {
        const s = sum.get(name) ?? { requests: 0, swaps: 0, ttftSum: 0, ttftCount: 0 };
        sum.set(name, { requests: s.requests + r.requests, swaps: s.swaps + r.swaps, ttftSum: s.ttftSum + r.ttftSum, ttftCount: s.ttftCount + r.ttftCount });
      }
    } catch {
      // An engine that cannot be read counts for nothing; the others still tell.
    }
  }));
  return seen ? sum : null;
}

/** after − before, per adapter; null when either side is unknown. */
export function loraFigures(before: Raw | null, after: Raw | null, adapters: string[]): LoraFigures | null {
  if (before === null || after === null) return null;
  const out: Record<string, AdapterFigures> = {};
  let swaps = 0;
  let requests = 0;
  for (const name of adapters) {
    const a = after.get(name) ?? { requests: 0, swaps: 0, ttftSum: 0, ttftCount: 0 };
    const b = before.get(name) ?? { requests: 0, swaps: 0, ttftSum: 0, ttftCount: 0 };
    const n = a.ttftCount - b.ttftCount;
    const f = { requests: a.requests - b.requests, swaps: a.swaps - b.swaps, mean_ttft_ms: n > 0 ? Math.round(((a.ttftSum - b.ttftSum) / n) * 1e6) / 1e3 : null };
    out[name] = f;
    swaps += f.swaps;
    requests += f.requests;
  }
  return { adapters: out, swaps_total: swaps, swap_rate: requests > 0 ? Math.round((swaps / requests) * 1e4) / 1e4 : null };
}
