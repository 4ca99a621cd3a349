/**
 * Runs the last scheduled call once the calls stop for `delayMs`: typing a text or dragging the
 * opacity slider re-uploads once, when the user pauses, not on every keystroke.
 */
import type { Timers } from './timers.js';

export interface Debouncer {
  schedule(run: () => void): void;
  /** Drops a scheduled call: an immediate run made it moot. */
  cancel(): void;
}

export const OPTION_DEBOUNCE_MS = 400;

export function debouncer(delayMs: number, timers: Timers): Debouncer {
  let handle: unknown = null;
  const cancel = (): void => {
    if (handle !== null) timers.clearTimeout(handle);
    handle = null;
  };
  return {
    schedule(run) {
      cancel();
      handle = timers.setTimeout(() => {
        handle = null;
        run();
      }, delayMs);
    },
    cancel,
  };
}
