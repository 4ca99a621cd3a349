/** A Redis of the chaos tests' own, so it can be flushed and restarted empty without touching the shared one. */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitForPort } from '../../../src/stack/local-services.js';
import { freePort } from '../../helpers/harness.js';

export class DedicatedRedis {
  private child: ChildProcess | undefined;
  private port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    if (!(await waitForPort('127.0.0.1', this.port, 10_000))) throw new Error('dedicated Redis did not start');
  }

  /** Running again, whatever a test left it in. */
  async ensureRunning(): Promise<void> {
    if (this.child?.exitCode !== null || this.child.signalCode !== null) await this.start();
  }

  /** Restarted empty: nothing was persisted, as with an evicted or replaced Redis pod. */
  async restartEmpty(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child?.exitCode !== null) return; // never started, or gone already
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
