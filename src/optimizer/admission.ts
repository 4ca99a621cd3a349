/**
 * Load shedding for the optimizer: at most `concurrency` images in work and `maxWaiting` queued.
 * Past that a request is refused at once (SaturatedError → 503 + Retry-After) instead of queueing
 * without bound: callers have a fallback (the retry queue), a growing backlog only adds latency.
 */

/** The gate is full; the caller should come back later. */
export class SaturatedError extends Error {
  constructor(message = 'The optimizer is saturated, retry later') {
    super(message);
    this.name = 'SaturatedError';
  }
}

export interface AdmissionOptions {
  concurrency: number;
  maxWaiting: number;
}

export class AdmissionGate {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #queue: (() => void)[] = [];
  #running = 0;

  constructor({ concurrency, maxWaiting }: AdmissionOptions) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`Expected positive integer for concurrency but received ${String(concurrency)}`);
    }
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) {
      throw new RangeError(`Expected non-negative integer for maxWaiting but received ${String(maxWaiting)}`);
    }
    this.#concurrency = concurrency;
    this.#maxWaiting = maxWaiting;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** True when `tryRun` would refuse right now. */
  get saturated(): boolean {
    return this.#running >= this.#concurrency && this.#queue.length >= this.#maxWaiting;
  }

  /** Runs `fn` now or after the ones ahead of it; rejects with SaturatedError at once when full. */
  async tryRun<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#queue.length >= this.#maxWaiting) throw new SaturatedError();
      // The slot is handed over by the finishing task (see #release), so #running stays accurate.
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#running--;
  }
}
