// The benchmark client watches itself: the CPU it used, how busy its event
// loop was, and how late it sent paced requests. A client near one full core
// or behind its schedule measures itself, not the server: the result says so.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { percentile } from '../quantile.js';
import type { ClientCpu } from '../vocabulary/bench-result.js';

/** Beyond this share of one core or of event-loop time the client itself may be the limit. */
export const SATURATION = 0.9;
/** Paced requests sent this late (p99, ms) mean the client or its host fell behind. */
export const LAG_WARNING_MS = 50;

export class ClientLoad {
  private readonly cpu0 = process.cpuUsage();
  private readonly elu0: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly wall0 = performance.now();
  private readonly lags: number[] = [];

  lag(ms: number): void {
    this.lags.push(Math.max(0, ms));
  }

  finish(): { cpu: ClientCpu; warnings: string[] } {
    const wall = (performance.now() - this.wall0) / 1000;
    const used = process.cpuUsage(this.cpu0);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const elu = performance.eventLoopUtilization(this.elu0).utilization;
    const cores = wall > 0 ? cpuSeconds / wall : 0;
    const lag = this.lags.length > 0 ? percentile(this.lags, 99) : null;
    const saturated = cores > SATURATION || elu > SATURATION;
    const warnings: string[] = [];
    if (saturated) warnings.push(`the benchmark client was saturated (${cores.toFixed(2)} cores, event loop ${(elu * 100).toFixed(0)} % busy): figures may measure the client, not the stack; lower the load or run the client on a bigger machine`);
    if (lag !== null && lag > LAG_WARNING_MS) warnings.push(`paced requests were sent late (p99 ${lag.toFixed(0)} ms behind schedule): the client or its host was overloaded`);
    return { cpu: { cpu_seconds: cpuSeconds, cores, event_loop_utilization: elu, send_lag_p99_ms: lag, saturated }, warnings };
  }
}
