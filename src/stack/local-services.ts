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

export async function ensureRabbitMq(url: string): Promise<ServiceState> {
  const { hostname, port } = new URL(url);
  const amqpPort = Number(port || 5672);
  if (await isPortOpen(hostname, amqpPort)) return 'running';
  if (!isLoopback(hostname)) return 'remote';
  if (!commandExists('rabbitmq-server')) {
    throw new MissingServiceError('RabbitMQ', 'install it with `sudo apt-get install rabbitmq-server`, or set RABBITMQ_URL to a broker you run');
  }
  spawn('rabbitmq-server', ['-detached'], { stdio: 'ignore', detached: true }).unref();
  if (!(await waitForPort(hostname, amqpPort, 90_000))) {
    throw new MissingServiceError('RabbitMQ', `started rabbitmq-server but nothing answers on ${hostname}:${amqpPort}; see /var/log/rabbitmq`);
  }
  return 'started';
}

export async function ensureRedis(url: string): Promise<ServiceState> {
  const { hostname, port } = new URL(url);
  const redisPort = Number(port || 6379);
  if (await isPortOpen(hostname, redisPort)) return 'running';
  if (!isLoopback(hostname)) return 'remote';
  if (!commandExists('redis-server')) {
    throw new MissingServiceError('Redis', 'install it with `sudo apt-get install redis-server`, or set REDIS_URL to a Redis you run');
  }
  const result = spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  if (result.status !== 0 || !(await waitForPort(hostname, redisPort, 15_000))) {
    throw new MissingServiceError('Redis', `redis-server did not start on ${hostname}:${redisPort}`);
  }
  return 'started';
}
