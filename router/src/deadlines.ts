// Requests waiting for an engine's response headers, checked against
// --request-timeout by one timer. A timer per request (as undici's
// headers timeout) makes an object that lives until its deadline, long enough to
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
  private running = false;

  /** `lateMs`: how late past its deadline a request may be noticed, so that deadlines close together expire in one pass. */
  constructor(readonly lateMs: number) {}

  /** A sweep for one timeout: it notices a passed deadline within a hundredth of it (at most 50 ms). A coarser sweep
   * (a second, at a 10 s timeout) made a 504 late by most of the margin a client allows for the network between. */
  static within(timeoutMs: number): DeadlineSweep {
    return new DeadlineSweep(Math.max(1, Math.min(50, timeoutMs / 100)));
  }

  /** Deadlines must come in order: now plus the one timeout. */
  add(item: Expiring): void {
    item.sweepPrev = this.tail;
    item.sweepNext = null;
    if (this.tail) this.tail.sweepNext = item;
    else this.head = item;
    this.tail = item;
    if (this.running && this.timer === null) this.arm();
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
    this.running = true;
    if (this.timer === null) this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
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

  // One timer, for the head's deadline: a request answered in time leaves the timer armed, which then finds a later
  // head and waits for it. So there is at most one timer per timeout while requests come and go, not one per request.
  private arm(): void {
    if (this.head === null) return void (this.timer = null);
    const wait = Math.max(0, this.head.deadline - performance.now()) + this.lateMs;
    this.timer = setTimeout(() => {
      this.sweep(performance.now());
      this.arm();
    }, wait).unref();
  }
}
