/**
 * A live view of whether the optimizer answers at all: a cheap probe of its /healthz every
 * `intervalMs`, answered by its event loop, which sharp's work (on libuv's threads) does not
 * block. The optimizer counts as stalled once no probe has been answered for `stallMs`: a process
 * that is hung, stopped or cut off. A call in flight for longer than `stallMs` while the optimizer
 * is stalled is given up at once (optimizer-client.ts): a hung optimizer costs an upload about
 * `stallMs`, not the whole OPTIMIZER_TIMEOUT_MS, while slow but healthy work keeps its timeout.
 */
export interface HealthClock {
  now: () => number;
  setInterval: (callback: () => void, ms: number) => unknown;
  clearInterval: (handle: unknown) => void;
}

export interface OptimizerHealthOptions {
  /** Resolves true when the optimizer answered; must settle within `stallMs` (its own deadline). */
  probe: (signal: AbortSignal) => Promise<boolean>;
  intervalMs: number;
  stallMs: number;
  clock?: HealthClock;
}

const realClock: HealthClock = {
  now: () => performance.now(),
  setInterval: (callback, ms) => {
    const handle = setInterval(callback, ms);
    // A probe loop must not keep a stopping process alive.
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export class OptimizerHealth {
  readonly #clock: HealthClock;
  #lastAnswerAt: number;
  #timer: unknown;
  readonly #inFlight = new Set<AbortController>();

  constructor(private readonly options: OptimizerHealthOptions) {
    this.#clock = options.clock ?? realClock;
    // Innocent until proven stalled: a fresh api does not give up calls before its first probe.
    this.#lastAnswerAt = this.#clock.now();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setInterval(() => void this.#probeOnce(), this.options.intervalMs);
    void this.#probeOnce();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearInterval(this.#timer);
    this.#timer = undefined;
    for (const probe of this.#inFlight) probe.abort();
    this.#inFlight.clear();
  }

  /** Milliseconds since the optimizer last answered a probe. */
  get silentForMs(): number {
    return Math.max(0, this.#clock.now() - this.#lastAnswerAt);
  }

  get stalled(): boolean {
    return this.silentForMs >= this.options.stallMs;
  }

  /**
   * Whether a call started at `startedAt` (the clock's time) should be given up now: it has run
   * for `stallMs` and, all that time or longer, no probe was answered.
   */
  abandons(startedAt: number): boolean {
    return this.#clock.now() - startedAt >= this.options.stallMs && this.stalled;
  }

  get now(): number {
    return this.#clock.now();
  }

  async #probeOnce(): Promise<void> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    // Overlapping probes on purpose: a stopped optimizer leaves them unanswered, and the answer of
    // the first one after it is back is what counts.
    const answered = await this.options.probe(controller.signal).catch(() => false);
    this.#inFlight.delete(controller);
    if (answered) this.#lastAnswerAt = Math.max(this.#lastAnswerAt, this.#clock.now());
  }
}
