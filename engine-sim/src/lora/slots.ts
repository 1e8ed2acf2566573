// Where adapters sit, as vLLM's LoRA manager keeps them: --max-loras GPU slots
// and a CPU cache of --max-cpu-loras, both least-recently-used. A request for
// an adapter not on the GPU takes a slot from the least recently used adapter
// that no running request holds (a swap-in; read from its path first when not
// in the CPU cache); when every slot is held, it waits for one. I/O-free.

/** How a request found its adapter: already on the GPU, moved there from the CPU cache, or read from its path. */
export type Placement = 'resident' | 'swapped' | 'loaded';

interface Waiter {
  name: string;
  resolve: (p: Placement) => void;
  reject: (err: unknown) => void;
}

export class LoraSlots {
  /** On the GPU: name → requests holding it; Map order is least recently used first. */
  private readonly gpu = new Map<string, number>();
  /** In the CPU cache, least recently used first. */
  private readonly cpu = new Set<string>();
  private waiters: Waiter[] = [];

  constructor(readonly maxLoras: number, readonly maxCpuLoras: number) {
    if (maxCpuLoras < maxLoras) throw new Error(`max CPU LoRAs (${maxCpuLoras}) must be at least max LoRAs (${maxLoras})`);
  }

  /** Reads an adapter into the CPU cache (start-up modules and runtime loads pre-load, as vLLM's add_lora does). */
  preload(name: string): void {
    this.touchCpu(name);
  }

  /** Takes a GPU slot for one request; resolves once it has one. The signal gives up waiting. */
  acquire(name: string, signal?: AbortSignal): Promise<Placement> {
    const now = this.place(name);
    if (now !== null) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const w: Waiter = { name, resolve, reject };
      this.waiters.push(w);
      signal?.addEventListener('abort', () => {
        if (!this.waiters.includes(w)) return;
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** A request holding the adapter has finished: its slot may serve waiters. */
  release(name: string): void {
    const pins = this.gpu.get(name);
    if (pins !== undefined) this.gpu.set(name, Math.max(0, pins - 1));
    this.serveWaiters();
  }

  /** The adapter is unloaded: gone from both tiers once no request holds it. */
  forget(name: string): void {
    if ((this.gpu.get(name) ?? 0) === 0) this.gpu.delete(name);
    this.cpu.delete(name);
    this.serveWaiters();
  }

  /** Adapters on the GPU, least recently used first. */
  resident(): string[] {
    return [...this.gpu.keys()];
  }

  /** Adapters held by running requests. */
  running(): string[] {
    return [...this.gpu].filter(([, pins]) => pins > 0).map(([n]) => n);
  }

  /** Adapters whose requests wait for a slot. */
  waiting(): string[] {
    return [...new Set(this.waiters.map((w) => w.name))];
  }

  private serveWaiters(): void {
    const left: Waiter[] = [];
    for (const w of this.waiters) {
      const p = this.place(w.name);
      if (p === null) left.push(w);
      else w.resolve(p);
    }
    this.waiters = left;
  }

  private place(name: string): Placement | null {
    const pins = this.gpu.get(name);
    if (pins !== undefined) {
      this.gpu.delete(name);
      this.gpu.set(name, pins + 1);
      this.touchCpu(name);
      return 'resident';
    }
    if (this.gpu.size >= this.maxLoras) {
      const victim = [...this.gpu].find(([, p]) => p === 0)?.[0];
      if (victim === undefined) return null;
      this.gpu.delete(victim);
    }
    const placement: Placement = this.cpu.has(name) ? 'swapped' : 'loaded';
    this.gpu.set(name, 1);
    this.touchCpu(name);
    return placement;
  }

  private touchCpu(name: string): void {
    this.cpu.delete(name);
    this.cpu.add(name);
    // Evict the least recently used adapter that is not on the GPU (there is one: the cache holds at least the GPU's slots).
    for (const n of this.cpu) {
      if (this.cpu.size <= this.maxCpuLoras) break;
      if (!this.gpu.has(n)) this.cpu.delete(n);
    }
  }
}

/** The modelled time to bring an adapter onto the GPU, ms before the time scale. */
export function placementMs(p: Placement, swapTime: number, loadTime: number, maxLoraRank: number): number {
  // A slot is sized for --max-lora-rank: moving an adapter in copies that much (rank 16 = swapTime).
  const swap = (swapTime * maxLoraRank) / 16;
  return p === 'resident' ? 0 : p === 'swapped' ? swap : loadTime + swap;
}
