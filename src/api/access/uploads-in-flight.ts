/**
 * A bound on the uploads one client has in flight in this api process. Every upload waits for its
 * share of one memory budget (shared/http/upload-budget.ts); without this bound one client sending
 * many large uploads at once could hold all of it and make every other client wait. Per process on
 * purpose: the budget it protects is per process too. A count in a Map: no library needed.
 */
import { PROBLEMS } from '../../shared/contracts/problems.js';
import { HttpProblem } from '../../shared/http/problem.js';

/** How long a client refused for too many uploads in flight is asked to wait: about one upload's time. */
const RETRY_AFTER_SECONDS = 1;

export class UploadsInFlight {
  readonly #inFlight = new Map<string, number>();
  #total = 0;

  /** `observe` hears the total in flight, across clients, each time it changes (a gauge). */
  constructor(
    readonly perClient: number,
    private readonly observe: (total: number) => void = () => undefined,
  ) {}

  /**
   * A slot for one more upload of `client`: its release function (idempotent), or the 429 to
   * answer when the client already has `perClient` uploads in flight.
   */
  enter(client: string): { release: () => void } | { problem: HttpProblem } {
    const current = this.#inFlight.get(client) ?? 0;
    if (current >= this.perClient) {
      return {
        problem: new HttpProblem(
          PROBLEMS.tooManyUploads,
          `This client already has ${current} uploads in flight, the most one client may have at once: wait for one to be answered`,
          { retryAfterSeconds: RETRY_AFTER_SECONDS, bodyLeftUnread: true },
        ),
      };
    }
    this.#inFlight.set(client, current + 1);
    this.observe(++this.#total);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.#inFlight.get(client) ?? 1) - 1;
        // Forgotten at zero, so the map holds only clients with uploads in flight.
        if (left === 0) this.#inFlight.delete(client);
        else this.#inFlight.set(client, left);
        this.observe(--this.#total);
      },
    };
  }

  /** Uploads of `client` in flight now. */
  count(client: string): number {
    return this.#inFlight.get(client) ?? 0;
  }

  /** Clients with at least one upload in flight. */
  get clients(): number {
    return this.#inFlight.size;
  }
}
