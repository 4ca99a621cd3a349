/**
 * Process lifecycle shared by every entry point: load config or exit with a clear message,
 * and on SIGTERM/SIGINT stop gracefully (readiness first, then drain) within a grace period.
 */
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';

export interface Stoppable {
  /** Turn readiness false, finish or hand back in-flight work, release connections. */
  stop(): Promise<void>;
}

export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

export function stopOnSignals(service: Stoppable, logger: Logger, graceMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs }, 'stopping');
    // A grace period that runs out still ends the process; in-flight broker work is redelivered.
    const force = setTimeout(() => {
      logger.warn('grace period over; exiting with work in flight');
      process.exit(1);
    }, graceMs + 1_000);
    force.unref();
    service
      .stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
