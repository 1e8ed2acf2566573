// vLLM's admission, modelled: at most maxNumSeqs requests run; the rest wait
// in FIFO order up to maxWaiting, beyond which requests are refused (429).

export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`the engine's waiting queue is full (${waiting} requests); retry later`);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Scheduler {
  private runningCount = 0;
  private readonly queue: Waiter[] = [];

  constructor(private maxNumSeqs: number, private maxWaiting: number) {}

  get running(): number {
    return this.runningCount;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves when the request may run; `signal` aborting while it waits takes it out of the queue. */
  admit(signal?: AbortSignal): Promise<void> {
    if (this.runningCount < this.maxNumSeqs && this.queue.length === 0) {
      this.runningCount++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.maxWaiting) return Promise.reject(new QueueFullError(this.queue.length));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.queue.push(waiter);
      signal?.addEventListener('abort', () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) {
          this.queue.splice(i, 1);
          reject(new Error('client went away while waiting'));
        }
      }, { once: true });
    });
  }

  /** A running request finished: the oldest waiting one takes its place. */
  finish(): void {
    const next = this.queue.shift();
    if (next) next.resolve();
    else this.runningCount = Math.max(0, this.runningCount - 1);
  }

  resize(maxNumSeqs: number): void {
    this.maxNumSeqs = maxNumSeqs;
    while (this.runningCount < this.maxNumSeqs && this.queue.length > 0) {
      this.runningCount++;
      this.queue.shift()?.resolve();
    }
  }
}
