/**
 * Process lifecycle shared by every entry point: load config or exit with a clear message,
 * and on SIGTERM/SIGINT stop gracefully (readiness first, then drain) within a grace period.
 */
import type { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

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

/**
 * The CLI entry of a service: configuration from the environment (exit 78 naming the bad
 * variable), start, then a graceful stop on SIGTERM/SIGINT within the grace period.
 */
export async function runService<S extends z.ZodType<{ LOG_LEVEL: string; SHUTDOWN_GRACE_MS: number; SHUTDOWN_DELAY_MS?: number }>>(
  name: string,
  schema: S,
  start: (config: z.infer<S>, logger: Logger) => Promise<Stoppable>,
  graceMs: (config: z.infer<S>) => number = (config) => config.SHUTDOWN_GRACE_MS + (config.SHUTDOWN_DELAY_MS ?? 0),
): Promise<void> {
  let config: z.infer<S>;
  try {
    config = loadConfig(schema);
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  const service = await start(config, logger).catch(exitOnConfigError);
  stopOnSignals(service, logger, graceMs(config));
}
