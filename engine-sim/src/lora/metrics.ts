// LoRA series on the engine's /metrics: vLLM's own `vllm:lora_requests_info`
// (running and waiting adapters, max_lora; its value the time of the reading,
// as vLLM sets it), and the simulator's per-adapter counters under
// `vllm_sim:` (vLLM has no per-adapter counters): requests, swap-ins, reads
// from the adapter's path, time to first token, and which adapters are on the GPU.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LoraSlots, Placement } from './slots.js';

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

export const LORA_METRICS = {
  info: 'vllm:lora_requests_info',
  requests: 'vllm_sim:lora_requests_total',
  swaps: 'vllm_sim:lora_swaps_total',
  loads: 'vllm_sim:lora_loads_total',
  ttft: 'vllm_sim:lora_time_to_first_token_seconds',
  resident: 'vllm_sim:lora_resident',
} as const;

export class LoraMetrics {
  private readonly requests;
  private readonly swaps;
  private readonly loads;
  private readonly ttft;

  constructor(registry: Registry, slots: LoraSlots) {
    const r = [registry];
    new Gauge({
      name: LORA_METRICS.info, help: 'Running stats on lora requests.', labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'], registers: r,
      collect() {
        this.reset();
        this.set({ max_lora: String(slots.maxLoras), running_lora_adapters: slots.running().join(','), waiting_lora_adapters: slots.waiting().join(',') }, Date.now() / 1000);
      },
    });
    new Gauge({
      name: LORA_METRICS.resident, help: 'Adapters in a GPU slot (1), by name (simulator).', labelNames: ['lora_name'], registers: r,
      collect() {
        this.reset();
        for (const n of slots.resident()) this.set({ lora_name: n }, 1);
      },
    });
    this.requests = new Counter({ name: LORA_METRICS.requests, help: 'Requests served with each adapter (simulator).', labelNames: ['lora_name'], registers: r });
    this.swaps = new Counter({ name: LORA_METRICS.swaps, help: 'Requests that had to bring their adapter onto the GPU first (simulator).', labelNames: ['lora_name'], registers: r });
    this.loads = new Counter({ name: LORA_METRICS.loads, help: 'Swap-ins that also read the adapter from its path (not in the CPU cache) (simulator).', labelNames: ['lora_name'], registers: r });
    this.ttft = new Histogram({ name: LORA_METRICS.ttft, help: 'Time to first token of adapter requests, by adapter (simulator).', labelNames: ['lora_name'], buckets: TTFT_BUCKETS, registers: r });
  }

  placed(name: string, p: Placement): void {
    this.requests.inc({ lora_name: name });
    if (p !== 'resident') this.swaps.inc({ lora_name: name });
    if (p === 'loaded') this.loads.inc({ lora_name: name });
  }

  firstToken(name: string, seconds: number): void {
    this.ttft.observe({ lora_name: name }, seconds);
  }
}
