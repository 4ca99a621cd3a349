/**
 * A RabbitMQ node of the chaos tests' own (own node name, ports and data folder), so they can
 * `kill -9` it and raise its memory alarm without touching the machine's shared broker.
 * Debian's rabbitmq-server runs the node as the `rabbitmq` user, which must own the folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPortOpen, waitForPort } from '../../../src/stack/local-services.js';
import { freePort } from '../../helpers/harness.js';
import { waitFor } from '../../helpers/wait.js';

function rabbitmqUser(): { uid: number; gid: number } | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'rabbitmq']).toString().trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined; // not Debian's package layout: the node runs as the current user
  }
}

export class DedicatedRabbitMq {
  readonly node: string;
  private port = 0;
  private distPort = 0;

  constructor(private readonly dir: string) {
    this.node = `nwschaos${process.pid}@localhost`;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      this.distPort = await freePort();
      for (const sub of ['mnesia', 'log']) mkdirSync(join(this.dir, sub), { recursive: true });
      writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
      const owner = rabbitmqUser();
      if (owner)
        for (const path of [this.dir, join(this.dir, 'mnesia'), join(this.dir, 'log'), join(this.dir, 'enabled_plugins')])
          chownSync(path, owner.uid, owner.gid);
    }
    const child = spawn('rabbitmq-server', [], {
      env: {
        ...process.env,
        RABBITMQ_NODENAME: this.node,
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(this.dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
      },
      stdio: 'ignore',
      detached: true,
    });
    child.unref();
    if (!(await waitForPort('127.0.0.1', this.port, 60_000))) throw new Error(`dedicated RabbitMQ ${this.node} did not start; see ${this.dir}/log`);
  }

  private pid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'mnesia', `${this.node}.pid`), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** The crash: SIGKILL to the Erlang VM, no chance to flush anything it had not already. */
  async kill9(): Promise<void> {
    const pid = this.pid();
    if (pid) process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await isPortOpen('127.0.0.1', this.port)), { what: 'the broker to die' });
  }

  /** Running again with no alarm, whatever a test left it in (killed, or blocked). */
  async ensureRunning(): Promise<void> {
    if (await isPortOpen('127.0.0.1', this.port)) this.setMemoryAlarm(false);
    else await this.start();
  }

  /** Blocks publishers the way a memory alarm does (connection.blocked), or lifts it. */
  setMemoryAlarm(on: boolean): void {
    execFileSync('rabbitmqctl', ['-n', this.node, 'set_vm_memory_high_watermark', on ? '0.000001' : '0.4'], { stdio: 'ignore' });
  }

  async stop(): Promise<void> {
    try {
      execFileSync('rabbitmqctl', ['-n', this.node, 'stop'], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      const pid = this.pid();
      if (pid) process.kill(pid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
