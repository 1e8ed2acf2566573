// Live progress of a node's benchmark: a small JSON file in the node's work
// dir, replaced every second, that `make vllm-benchmark` shows while Ansible
// waits for the step (Ansible prints a task's output only when it ends).
import { join } from 'node:path';
import { percentileSorted, sortedCopy } from '../quantile.js';
import { writeJsonAtomic } from '../atomic-write.js';

export type Phase = 'waiting' | 'running' | 'draining' | 'done' | 'failed';

export interface BenchProgress {
  node: string;
  run_id: string;
  workload: string;
  repeat: number;
  repeats: number;
  phase: Phase;
  elapsed_s: number;
  duration_s: number;
  completed: number;
  errors: number;
  in_flight: number;
  p50_ttft_ms: number | null;
  updated_at: string;
}

export const PROGRESS_FILE = 'bench-progress.json';

export function progressPath(workDir: string): string {
  return join(workDir, PROGRESS_FILE);
}

export function progressLine(p: BenchProgress): string {
  const ttft = p.p50_ttft_ms === null ? '-' : `${p.p50_ttft_ms.toFixed(1)} ms`;
  const repeat = p.repeats > 1 ? ` repeat ${p.repeat}/${p.repeats}` : '';
  return `${p.node} ${p.workload}${repeat} ${p.phase} ${Math.min(p.elapsed_s, p.duration_s).toFixed(0)}/${p.duration_s} s: ${p.completed} done, ${p.errors} errors, ${p.in_flight} in flight, p50 TTFT ${ttft}`;
}

/** Collects the running figures of the measured requests and writes them once a second. */
export class ProgressReporter {
  private state: BenchProgress;
  private ttfts: number[] = [];
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string, node: string, runId: string, repeats: number, durationS: number, private readonly inFlight: () => number) {
    this.state = {
      node, run_id: runId, workload: '', repeat: 0, repeats, phase: 'waiting', elapsed_s: 0, duration_s: durationS,
      completed: 0, errors: 0, in_flight: 0, p50_ttft_ms: null, updated_at: new Date().toISOString(),
    };
  }

  begin(workload: string, repeat: number): void {
    Object.assign(this.state, { workload, repeat, phase: 'running', completed: 0, errors: 0, p50_ttft_ms: null });
    this.ttfts = [];
    this.startedAt = performance.now();
    this.timer ??= setInterval(() => this.flush(), 1000);
    this.timer.unref();
    this.flush();
  }

  phase(phase: Phase): void {
    this.state.phase = phase;
    this.flush();
  }

  request(ok: boolean, ttftMs: number | null): void {
    if (!ok) this.state.errors++;
    else {
      this.state.completed++;
      if (ttftMs !== null) this.ttfts.push(ttftMs);
    }
  }

  /** Stops the timer after writing the final state. */
  async close(phase: Phase): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.state.phase = phase;
    this.flush();
    await this.writing;
  }

  private flush(): void {
    const s = this.state;
    s.elapsed_s = this.startedAt === 0 ? 0 : (performance.now() - this.startedAt) / 1000;
    s.in_flight = this.inFlight();
    s.p50_ttft_ms = this.ttfts.length > 0 ? percentileSorted(sortedCopy(this.ttfts), 50) : null;
    s.updated_at = new Date().toISOString();
    const snapshot = { ...s };
    // Writes are chained: the file always holds the latest state, never a half-written one.
    this.writing = this.writing.then(() => writeJsonAtomic(this.file, snapshot)).catch(() => {});
  }
}
