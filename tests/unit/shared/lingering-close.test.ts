/**
 * The lingering close on a real loopback socket, behind the service skeleton's error handler: a
 * problem answered before the body is read is followed by discarding the body. A body that ends
 * within the bounds leaves the connection usable; one past either bound has its connection cut.
 * The client is a raw socket, so the test sees exactly what crosses the wire.
 */
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../../src/shared/contracts/problems.js';
import { HttpProblem } from '../../../src/shared/http/problem.js';
import type { LingerBounds } from '../../../src/shared/http/lingering-close.js';
import { createServiceApp, type ServingService } from '../../../src/shared/http/service-app.js';
import { createLogger } from '../../../src/shared/logger.js';

const MAX_BYTES = 64 * 1024;
/** Each bound is tried on a service whose other bound cannot be reached first. */
let byBytes: ServingService;
let byTime: ServingService;

async function refusingService(linger: LingerBounds): Promise<ServingService> {
  const app = createServiceApp({ service: 'test', registry: new Registry(), logger: createLogger('test', 'silent'), linger });
  app.app.post('/refused', () => {
    throw new HttpProblem(PROBLEMS.unauthorized, 'no key').leavingBodyUnread();
  });
  return app.serve(0, '127.0.0.1', async (server) => server.close(0));
}

beforeAll(async () => {
  byBytes = await refusingService({ maxBytes: MAX_BYTES, maxMs: 3_600_000 });
  byTime = await refusingService({ maxBytes: MAX_BYTES, maxMs: 200 });
});
afterAll(async () => {
  await byBytes?.stop();
  await byTime?.stop();
});

/** A raw HTTP/1.1 client on one connection: what it has received, and whether the server closed it. */
function rawClient(service: ServingService): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(service.port, '127.0.0.1');
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    // A cut connection may reset: the test looks at what arrived before it.
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

function requestHead(path: string, contentLength: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

const answers = (text: string): number => text.split('HTTP/1.1 401 ').length - 1;

/** Waits for what the client received to pass `check`; fails at once if the server closed first. */
async function until(socket: Socket, check: () => boolean): Promise<void> {
  while (!check()) {
    if (socket.destroyed) throw new Error('the server closed the connection first');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('lingering close', () => {
  it('answers before the body, discards the body, and keeps the connection for the next request', async () => {
    const client = await rawClient(byBytes);
    client.socket.write(requestHead('/refused', 32 * 1024));
    await until(client.socket, () => client.received().includes('"no key"'));
    expect(client.received()).not.toMatch(/^Connection: close/im);
    // The body arrives after the answer was read, as a client that sends first would send it.
    client.socket.write(Buffer.alloc(32 * 1024, 1));
    client.socket.write(requestHead('/refused', 0));
    await until(client.socket, () => answers(client.received()) === 2);
    expect(answers(client.received())).toBe(2);
    client.socket.destroy();
  });

  it('cuts the connection once more than the bound has been discarded', async () => {
    const client = await rawClient(byBytes);
    client.socket.write(requestHead('/refused', 10 * MAX_BYTES));
    await until(client.socket, () => client.received().includes('"no key"'));
    for (let sent = 0; sent < 4 * MAX_BYTES && !client.socket.destroyed; sent += 16 * 1024) {
      client.socket.write(Buffer.alloc(16 * 1024, 2));
    }
    await client.closed;
    expect(answers(client.received())).toBe(1);
  });

  it('cuts the connection of a sender that stops sending', async () => {
    const client = await rawClient(byTime);
    client.socket.write(requestHead('/refused', 1024));
    client.socket.write(Buffer.alloc(100, 3));
    await client.closed;
    expect(answers(client.received())).toBe(1);
  });
});
