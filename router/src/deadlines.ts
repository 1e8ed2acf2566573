// Requests waiting for an engine's response headers, checked against
// --request-timeout by one coarse timer. A timer per request (as undici's
// headers timeout) makes an object that lives until its next sweep, long enough to
// be promoted to the old heap; a Set of waiting requests did the same with
// its tables. This list is threaded through the requests themselves, so
// waiting costs no allocation, and every request shares one timeout, so the
// list is in deadline order and a sweep only looks at its head.

export interface Expiring {
  /** performance.now() after which the request has waited too long. */
  deadline: number;
  expire(): void;
  /** The list's links, owned by DeadlineSweep: null when not in it. */
  sweepPrev: Expiring | null;
  sweepNext: Expiring | null;
}

export class DeadlineSweep {
  private head: Expiring | null = null;
  private tail: Expiring | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** `intervalMs`: how late past its deadline a request may be noticed. */
  constructor(private readonly intervalMs: number) {}

  /** A sweep for one timeout: it notices a passed deadline within a quarter of it (at most a second). */
  static within(timeoutMs: number): DeadlineSweep {
    return new DeadlineSweep(Math.max(5, Math.min(1000, timeoutMs / 4)));
  }

  /** Deadlines must come in order: now plus the one timeout. */
  add(item: Expiring): void {
    item.sweepPrev = this.tail;
    item.sweepNext = null;
    if (this.tail) this.tail.sweepNext = item;
    else this.head = item;
    this.tail = item;
  }

  delete(item: Expiring): void {
    if (item.sweepPrev === null && this.head !== item) return;
    if (item.sweepPrev) item.sweepPrev.sweepNext = item.sweepNext;
    else this.head = item.sweepNext;
    if (item.sweepNext) item.sweepNext.sweepPrev = item.sweepPrev;
    else this.tail = item.sweepPrev;
    item.sweepPrev = null;
    item.sweepNext = null;
  }

  start(): void {
    this.timer ??= setInterval(() => this.sweep(performance.now()), this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Expires every request whose deadline is past `now`. */
  sweep(now: number): void {
    while (this.head !== null && this.head.deadline <= now) {
      const item = this.head;
      this.delete(item);
      item.expire();
    }
  }
}
