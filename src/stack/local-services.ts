/**
 * RabbitMQ and Redis for the local stack and the tests: used where they already answer, started
 * from Debian's packages where installed but stopped, and otherwise refused with the command that
 * installs them. Only loopback URLs are ever started; remote ones are the operator's business.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

export class MissingServiceError extends Error {
  constructor(service: string, hint: string) {
    super(`${service} is not running and cannot be started here: ${hint}`);
    this.name = 'MissingServiceError';
  }
}

export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortOpen(host, port)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export type ServiceState = 'running' | 'started' | 'remote';

interface LocalServer {
  name: string;
  /** Debian's server command, which the stack starts. */
  command: string;
  defaultPort: number;
  /** What to do when it is not installed. */
  install: string;
}

const RABBITMQ: LocalServer = {
  name: 'RabbitMQ',
  command: 'rabbitmq-server',
  defaultPort: 5672,
  install: 'install it with `sudo apt-get install rabbitmq-server`, or set RABBITMQ_URL to a broker you run',
};

const REDIS: LocalServer = {
  name: 'Redis',
  command: 'redis-server',
  defaultPort: 6379,
  install: 'install it with `sudo apt-get install redis-server`, or set REDIS_URL to a Redis you run',
};

/** It answers already, or it is remote (not ours to start), or here is the loopback address to start it on. */
async function whereToStart(url: string, server: LocalServer): Promise<Exclude<ServiceState, 'started'> | { hostname: string; port: number }> {
  const { hostname, port } = new URL(url);
  const address = { hostname, port: Number(port || server.defaultPort) };
  if (await isPortOpen(address.hostname, address.port)) return 'running';
  if (!isLoopback(hostname)) return 'remote';
  if (!commandExists(server.command)) throw new MissingServiceError(server.name, server.install);
  return address;
}

export async function ensureRabbitMq(url: string): Promise<ServiceState> {
  const at = await whereToStart(url, RABBITMQ);
  if (typeof at === 'string') return at;
  spawn(RABBITMQ.command, ['-detached'], { stdio: 'ignore', detached: true }).unref();
  // A first start of RabbitMQ (Erlang, the plugins) takes long on a small machine.
  if (!(await waitForPort(at.hostname, at.port, 90_000))) {
    throw new MissingServiceError(RABBITMQ.name, `started rabbitmq-server but nothing answers on ${at.hostname}:${at.port}; see /var/log/rabbitmq`);
  }
  return 'started';
}

export async function ensureRedis(url: string): Promise<ServiceState> {
  const at = await whereToStart(url, REDIS);
  if (typeof at === 'string') return at;
  const result = spawnSync(REDIS.command, ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(at.port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  if (result.status !== 0 || !(await waitForPort(at.hostname, at.port, 15_000))) {
    throw new MissingServiceError(REDIS.name, `redis-server did not start on ${at.hostname}:${at.port}`);
  }
  return 'started';
}
