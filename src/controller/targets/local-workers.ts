/**
 * The scale target of the local stack: worker processes (`nws-watermark worker`) on this machine,
 * each supervised (restarted if it crashes) on its own port. Scaling down stops the newest
 * workers with SIGTERM, so each finishes the job in hand (graceful drain) before it exits; like a
 * terminating pod, a draining worker no longer counts and keeps its port until it is gone.
 */
import { SupervisedProcess } from '../../shared/process/supervisor.js';
import { serviceArgs } from '../../shared/service-command.js';
import type { ScaleReading, ScaleTarget } from './scale-target.js';

export interface LocalWorkersOptions {
  /** Environment of every worker (broker, Redis, S3, optimizer…); PORT is set per worker. */
  env: NodeJS.ProcessEnv;
  /** Worker n listens on basePort + its slot. */
  basePort: number;
  /** SIGKILL a draining worker after this long (its SHUTDOWN_GRACE_MS plus a margin). */
  stopGraceMs: number;
  output?: (name: string, line: string) => void;
}

interface LocalWorker {
  slot: number;
  process: SupervisedProcess;
}

export class LocalWorkers implements ScaleTarget {
  readonly description = 'local worker processes';
  private readonly running: LocalWorker[] = [];
  private readonly draining = new Map<number, Promise<void>>();

  constructor(private readonly options: LocalWorkersOptions) {}

  async read(): Promise<ScaleReading> {
    const alive = this.running.filter((w) => w.process.pid !== undefined).length;
    return { specReplicas: this.running.length, statusReplicas: alive };
  }

  async scale(replicas: number): Promise<void> {
    while (this.running.length < replicas) this.spawn();
    // The newest go first, each draining the job in hand.
    for (const worker of this.running.splice(replicas).reverse()) {
      const stopped = worker.process.stop().finally(() => this.draining.delete(worker.slot));
      this.draining.set(worker.slot, stopped);
    }
  }

  /** Stops every worker (each drains) and waits for all of them, draining ones included. */
  async stopAll(): Promise<void> {
    await this.scale(0);
    await Promise.all([...this.draining.values()]);
  }

  private spawn(): void {
    const used = new Set([...this.running.map((w) => w.slot), ...this.draining.keys()]);
    let slot = 0;
    while (used.has(slot)) slot += 1;
    const name = `worker-${slot + 1}`;
    const process = new SupervisedProcess(
      {
        name,
        command: globalThis.process.execPath,
        args: serviceArgs('worker'),
        env: { ...this.options.env, PORT: String(this.options.basePort + slot) },
        ...(this.options.output ? { output: this.options.output } : {}),
      },
      { stopGraceMs: this.options.stopGraceMs },
    );
    process.start();
    this.running.push({ slot, process });
  }
}
