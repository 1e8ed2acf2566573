// LoRA state from an engine's /metrics: vLLM's vllm:lora_requests_info (its
// labels name max_lora and the running and waiting adapters; vLLM may keep
// older label sets, so the newest reading, the largest value, wins) and the
// simulator's vllm_sim:lora_resident (the adapters in GPU slots).

export interface LoraInfo {
  maxLora: number;
  running: string[];
  waiting: string[];
  /** null when the engine does not say which adapters sit in its slots (real vLLM). */
  resident: string[] | null;
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(LABEL)) out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, '$1');
  return out;
}

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** null when the engine reports no LoRA state (LoRA off, or an engine without these series). */
export function parseLoraInfo(text: string): LoraInfo | null {
  let best: { at: number; l: Record<string, string> } | null = null;
  const resident: string[] = [];
  let residentSeen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('vllm:lora_requests_info{')) {
      const close = line.lastIndexOf('}');
      const at = Number(line.slice(close + 1).trim());
      if (best === null || at > best.at) best = { at, l: labels(line.slice(0, close)) };
    } else if (line.startsWith('vllm_sim:lora_resident{')) {
      residentSeen = true;
      const close = line.lastIndexOf('}');
      if (Number(line.slice(close + 1).trim()) > 0) {
        const name = labels(line.slice(0, close)).lora_name;
        if (name) resident.push(name);
      }
    }
  }
  if (best === null) return null;
  const maxLora = Number(best.l.max_lora);
  return {
    maxLora: Number.isInteger(maxLora) && maxLora > 0 ? maxLora : 1,
    running: list(best.l.running_lora_adapters),
    waiting: list(best.l.waiting_lora_adapters),
    resident: residentSeen ? resident : null,
  };
}
