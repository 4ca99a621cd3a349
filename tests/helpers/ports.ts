/**
 * Ports for the servers a test starts on a known number (a restarted optimizer, a worker run that
 * Prometheus scrapes). Asking the kernel for a free port and closing it leaves a window in which
 * the port is taken again, and on a busy machine it is: the kernel hands the same ephemeral range
 * to every outgoing connection (Redis, RabbitMQ, fetch), so a worker started a second later on
 * `WORKER_PORT + 1` found it held by a client socket and crash-looped.
 *
 * So ports come from below the ephemeral range, which no outgoing connection uses, in a block of
 * their own per vitest worker (VITEST_POOL_ID), so two test files running at once never pick the
 * same one. Each is still checked by binding it, for the fixed listeners of the machine
 * (RabbitMQ's 25672, …).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
/** Blocks: vitest workers 1…, plus one for processes outside vitest (bench, soak). */
const BLOCKS = 8;

function ephemeralStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(start) || 32_768;
  } catch {
    return 32_768;
  }
}

const blockSize = Math.floor((ephemeralStart() - LOWEST) / BLOCKS);
const block = Number(process.env.VITEST_POOL_ID ?? 0) % BLOCKS;
const blockStart = LOWEST + block * blockSize;
// A random start within the block: a second test run on the same machine rarely meets this one.
let offset = Math.floor(Math.random() * blockSize);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive ports, none handed out before in this process, each free right now. */
export async function reservePorts(count = 1): Promise<number> {
  for (let tries = 0; tries < blockSize; tries += 1) {
    if (offset + count > blockSize) offset = 0;
    const first = blockStart + offset;
    offset += count;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => canListen(first + i)));
    if (free.every(Boolean)) return first;
  }
  throw new Error(`no ${count} free consecutive ports in ${blockStart}–${blockStart + blockSize - 1}`);
}

/** One port for a server started later on a known number. */
export function freePort(): Promise<number> {
  return reservePorts(1);
}
