/**
 * Runs a component as a child process and restarts it when it dies, the way Kubernetes restarts a
 * crashed pod: with a growing back-off (reset after a stable run), until told to stop. Shared
 * infrastructure: the local stack supervises the services with it, and the local controller its
 * worker processes, so neither imports the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { backoffDelay } from '../backoff.js';

export interface SupervisedSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Where the child's output lines go, prefixed with its name. */
  output?: (name: string, line: string) => void;
}

/** How long a stopped child has between SIGTERM and SIGKILL, unless its options say otherwise. */
export const DEFAULT_STOP_GRACE_MS = 15_000;

export interface SupervisorOptions {
  backoffMs?: readonly number[];
  /** A run at least this long resets the back-off. */
  stableAfterMs?: number;
  stopGraceMs?: number;
}

export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private failuresInARow = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoffMs: readonly number[];
  private readonly stableAfterMs: number;
  private readonly stopGraceMs: number;

  constructor(
    readonly spec: SupervisedSpec,
    options: SupervisorOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? [250, 1_000, 2_000, 5_000, 10_000, 30_000];
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stopped on purpose (stop() or holdRestarts()): no child runs or will be restarted until start(). */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    this.stopping = false;
    this.spawnChild();
  }

  /**
   * No restart from now on, but the child keeps running: a stop in order (the store last) first
   * holds every restart, since a Ctrl-C in a terminal signals every child at once.
   */
  holdRestarts(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when the child is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.exitCode !== null || child.signalCode !== null) return; // not started, or gone already
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), this.stopGraceMs);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Sends a signal to the running child (chaos tests: SIGKILL, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): boolean {
    return this.child?.kill(signal) ?? false;
  }

  private spawnChild(): void {
    const { spec } = this;
    // The IPC channel carries nothing: its end tells the child that this supervisor is gone, even
    // SIGKILLed, so the child stops (lifecycle.ts) instead of living on as an orphan on its port.
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.startedAt = Date.now();
    const output = spec.output ?? ((name, line) => process.stdout.write(`[${name}] ${line}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => output(spec.name, line));
    }
    child.once('error', (err) => output(spec.name, `failed to start: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      const ranMs = Date.now() - this.startedAt;
      this.failuresInARow = ranMs >= this.stableAfterMs ? 0 : this.failuresInARow + 1;
      const delay = backoffDelay(this.backoffMs, this.failuresInARow, 1_000);
      output(spec.name, `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      this.restartTimer = setTimeout(() => this.spawnChild(), delay);
    });
  }
}
