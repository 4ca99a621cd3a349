/**
 * A byte semaphore over the uploads a service holds in memory at once: a body is read only once
 * its share is granted; until then the request stays unread and TCP back-pressure holds the sender.
 * The multipart reader (multipart.ts) acquires a share, the caller releases it when it has answered.
 */
export class UploadMemoryBudget {
  #used = 0;
  readonly #waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limitBytes: number) {}

  /**
   * Resolves once `bytes` are granted; the returned function gives them back (idempotent). Waiters
   * are served in arrival order; one upload always fits even if it alone exceeds the budget, so
   * nothing waits forever.
   */
  async acquire(bytes: number): Promise<() => void> {
    if (this.#waiting.length > 0 || !this.#fits(bytes)) {
      await new Promise<void>((grant) => this.#waiting.push({ bytes, grant }));
    } else {
      this.#used += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
      this.#grantWaiting();
    };
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limitBytes;
  }

  #grantWaiting(): void {
    for (let next = this.#waiting[0]; next !== undefined && this.#fits(next.bytes); next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#used += next.bytes;
      next.grant();
    }
  }
}
