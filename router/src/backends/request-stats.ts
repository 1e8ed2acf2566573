// Per-engine request statistics over a sliding window, in one-second
// buckets: memory is fixed by the window length, not by the traffic.

interface Bucket {
  second: number;
  requests: number;
  latencySum: number;
  latencyCount: number;
  ttftSum: number;
  ttftCount: number;
}

export interface StatsSnapshot {
  qps: number;
  requests: number;
  avgLatencyMs: number | null;
  avgTtftMs: number | null;
}

export class RequestStats {
  private readonly buckets: Bucket[];

  constructor(private readonly windowSeconds: number, private readonly now: () => number = () => Date.now()) {
    this.buckets = Array.from({ length: windowSeconds }, () => ({ second: -1, requests: 0, latencySum: 0, latencyCount: 0, ttftSum: 0, ttftCount: 0 }));
  }

  private bucket(): Bucket {
    const second = Math.floor(this.now() / 1000);
    const b = this.buckets[second % this.windowSeconds] as Bucket;
    if (b.second !== second) Object.assign(b, { second, requests: 0, latencySum: 0, latencyCount: 0, ttftSum: 0, ttftCount: 0 });
    return b;
  }

  started(): void {
    this.bucket().requests++;
  }

  firstByte(ms: number): void {
    const b = this.bucket();
    b.ttftSum += ms;
    b.ttftCount++;
  }

  finished(ms: number): void {
    const b = this.bucket();
    b.latencySum += ms;
    b.latencyCount++;
  }

  snapshot(): StatsSnapshot {
    const oldest = Math.floor(this.now() / 1000) - this.windowSeconds + 1;
    let requests = 0;
    let ls = 0;
    let lc = 0;
    let ts = 0;
    let tc = 0;
    for (const b of this.buckets) {
      if (b.second < oldest) continue;
      requests += b.requests;
      ls += b.latencySum;
      lc += b.latencyCount;
      ts += b.ttftSum;
      tc += b.ttftCount;
    }
    return { qps: requests / this.windowSeconds, requests, avgLatencyMs: lc ? ls / lc : null, avgTtftMs: tc ? ts / tc : null };
  }
}
