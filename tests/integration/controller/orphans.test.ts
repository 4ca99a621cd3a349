/**
 * A local controller SIGKILLed (no chance to drain) leaves no worker behind: each worker holds the
 * end of an IPC channel to its supervisor, sees it close, and stops as on SIGTERM. Without this the
 * workers live on as orphans, consuming the queue and holding their ports for the next start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { createHarness, freePort, type Harness } from '../../helpers/harness.js';
import { reservePorts } from '../../helpers/ports.js';
import { spawnComponent, waitReady, type ChildComponent } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { consumerCount, ensureManagementApi } from './broker.js';
import { queueScalerSpec } from '../../helpers/queue-scaler.js';

let h: Harness;
let controller: ChildComponent;
let dir: string;
let workerPort: number;

const consumers = () => consumerCount(h.broker, RETRY_QUEUE);

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  await ensureManagementApi();
  h = await createHarness('orphans');
  dir = mkdtempSync(join(tmpdir(), 'nws-orphans-'));
  const specFile = join(dir, 'queuescaler.yaml');
  writeFileSync(specFile, queueScalerSpec('orphans', { minReplicas: 2, maxReplicas: 2 }));
  const port = await freePort();
  workerPort = await reservePorts(2);
  controller = spawnComponent('controller', {
    ...h.env,
    CONTROLLER_MODE: 'local',
    QUEUE_SCALER_FILE: specFile,
    PORT: String(port),
    WORKER_PORT: String(workerPort),
  });
  await waitReady(`http://127.0.0.1:${port}`);
  await waitFor(async () => (await consumers()) === 2, { timeoutMs: 30_000, what: 'minReplicas: two workers consuming' });
  await waitFor(async () => (await listening(workerPort)) && (await listening(workerPort + 1)), { what: 'both workers listening' });
});
afterAll(async () => {
  controller?.kill('SIGKILL');
  await controller?.exited;
  await h?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a local controller killed without a drain', () => {
  it('leaves no worker consuming or holding its port', async () => {
    controller.kill('SIGKILL');
    await controller.exited;
    await waitFor(async () => (await consumers()) === 0, { what: 'the orphaned workers to leave the queue' });
    await waitFor(async () => !(await listening(workerPort)) && !(await listening(workerPort + 1)), {
      what: 'the workers to free their ports',
    });
    expect(await consumers()).toBe(0);
  });
});
