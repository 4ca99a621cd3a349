/** Structured JSON logs (pino), one logger per service with its name bound. */
import { pino, type Logger } from 'pino';
import { errorMessage } from './errors.js';

export type { Logger };

/**
 * A `.catch` for a side effect the caller goes on without (a cache write, a state update): the
 * failure is logged at warn with why, never swallowed, and the chain resolves.
 */
export function warnAndContinue(log: Logger, msg: string): (err: unknown) => undefined {
  // Resolving to undefined lets a lookup read as "not known" once its failure is logged.
  return (err) => {
    log.warn({ err: errorMessage(err) }, msg);
    return undefined;
  };
}

export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
