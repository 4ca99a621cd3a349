/**
 * The one process lifecycle of every entry point (`nws-watermark <command>`): the configuration,
 * loaded and validated from the environment (exit 78 naming the bad variable); the start; and on
 * SIGTERM/SIGINT a graceful stop within a grace period (exit 0, or 1 when the stop fails or the
 * grace runs out). What differs between entry points is data in their ServiceEntry, not code.
 */
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { errorMessage } from './errors.js';
import { createLogger, type Logger } from './logger.js';

/** What every `start*` returns: where it answers, what its /metrics serves, how it stops. */
export interface RunningService {
  /** Its HTTP base URL. */
  url: string;
  port: number;
  /**
   * The prom-client registry its /metrics serves. Undefined only for what serves no /metrics of
   * its own: the embedded S3 endpoint (s3rver has none) and the stack (it serves nothing itself;
   * each process it supervises serves its own).
   */
  registry: Registry | undefined;
  /** Readiness false first, then in-flight work finished or handed back, connections released. */
  stop(): Promise<void>;
}

/** The exit codes of the entry points (sysexits.h for the two an operator acts on). */
export const EXIT_CODES = {
  ok: 0,
  /** The stop failed or the grace period ran out; or the start failed unexpectedly (cli.ts). */
  failed: 1,
  /** EX_UNAVAILABLE: a service it needs is missing (the stack without RabbitMQ or Redis). */
  unavailable: 69,
  /** EX_CONFIG: a variable, or a file one names, is invalid. */
  config: 78,
} as const;

/** Past the grace period, this long is left for the stop to log and exit by itself before it is cut. */
const FORCE_EXIT_MARGIN_MS = 1_000;

/** How the lifecycle tells the operator about the stop. */
export interface StopReport {
  stopping(signal: NodeJS.Signals, graceMs: number): void;
  stopped(): void;
  graceOver(): void;
  stopFailed(err: unknown): void;
}

/** The services' report: JSON log lines (tests and dashboards read "stopping", "stopped"). */
export function logStopReport(logger: Logger): StopReport {
  return {
    stopping: (signal, graceMs) => logger.info({ signal, graceMs }, 'stopping'),
    stopped: () => logger.info('stopped'),
    // In-flight broker work is redelivered; an unfinished upload gets a reset connection.
    graceOver: () => logger.warn('grace period over; exiting with work in flight'),
    stopFailed: (err) => logger.error({ err }, 'stop failed'),
  };
}

type ConfigSchema = z.ZodType<{ LOG_LEVEL: string }>;

/** An entry point, described: the lifecycle does the rest. */
export interface ServiceEntry<S extends ConfigSchema, R extends RunningService, C = z.infer<S>> {
  /** The `service` of its log lines. */
  name: string;
  /** Its variables (src/shared/config.ts); the lifecycle reads LOG_LEVEL for the logger. */
  schema: S;
  start(config: C, logger: Logger): Promise<R>;
  /** How long the stop may take once a signal came; past it the process exits 1. */
  graceMs(config: C): number;
  /**
   * The exit code of a start failure this entry knows, whose message says all the operator needs
   * (the stack: 69 when RabbitMQ or Redis is missing). A ConfigError is always 78.
   */
  exitCodeOf?(err: unknown): number | undefined;
  /** How the stop is told; the services' JSON log lines unless the entry says otherwise. */
  stopReport?(logger: Logger): StopReport;
}

/** The CLI entry of a component: configuration, start, then a graceful stop on SIGTERM/SIGINT. */
export async function runService<S extends ConfigSchema, R extends RunningService>(entry: ServiceEntry<S, R>): Promise<void> {
  let config: z.infer<S>;
  try {
    config = loadConfig(entry.schema);
  } catch (err) {
    exitOnKnownFailure(err);
  }
  const logger = createLogger(entry.name, config.LOG_LEVEL);
  let running: R;
  try {
    running = await entry.start(config, logger);
  } catch (err) {
    exitOnKnownFailure(err, entry.exitCodeOf?.(err));
  }
  stopOnSignals(running, entry.graceMs(config), entry.stopReport?.(logger) ?? logStopReport(logger));
}

/** The grace of a service that drains: SHUTDOWN_DELAY_MS with readiness false, then SHUTDOWN_GRACE_MS. */
export function drainGraceMs(config: { SHUTDOWN_GRACE_MS: number; SHUTDOWN_DELAY_MS?: number }): number {
  return config.SHUTDOWN_GRACE_MS + (config.SHUTDOWN_DELAY_MS ?? 0);
}

/** A known failure ends the process with its message and code; anything else goes on up (cli.ts prints its stack, exit 1). */
function exitOnKnownFailure(err: unknown, code?: number): never {
  const exitCode = err instanceof ConfigError ? EXIT_CODES.config : code;
  if (exitCode === undefined) throw err;
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(exitCode);
}

function stopOnSignals(service: Pick<RunningService, 'stop'>, graceMs: number, report: StopReport): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return; // a second Ctrl-C waits for the first stop
    stopping = true;
    report.stopping(signal, graceMs);
    // A grace period that runs out still ends the process.
    const force = setTimeout(() => {
      report.graceOver();
      process.exit(EXIT_CODES.failed);
    }, graceMs + FORCE_EXIT_MARGIN_MS);
    force.unref();
    service.stop().then(
      () => {
        report.stopped();
        process.exit(EXIT_CODES.ok);
      },
      (err: unknown) => {
        report.stopFailed(err);
        process.exit(EXIT_CODES.failed);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Started by our supervisor (the local stack, the local controller's workers) with an IPC
  // channel: when it closes, the supervisor is gone, and this service stops as on SIGTERM.
  if (process.channel) {
    process.once('disconnect', () => onSignal('SIGTERM'));
    process.channel.unref(); // the channel alone must not keep a stopped service alive
  }
}
