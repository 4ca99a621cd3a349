/**
 * A hung optimizer (SIGSTOP on a real optimizer process) costs an upload about OPTIMIZER_STALL_MS,
 * not the whole OPTIMIZER_TIMEOUT_MS: the api's health probe stops being answered, and the call in
 * flight is given up and the upload queued (202). Slow but healthy work is not given up: with a
 * stall bound far below its processing time, a 24 MP photo still gets its 200.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { apiEnv, loadConfig } from '../../src/shared/config.js';
import { createHarness, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let optimizer: ChildComponent;
let api: RunningApi;
let quickToGiveUp: RunningApi;
const apiLog: string[] = [];

beforeAll(async () => {
  h = await createHarness('optimizer-stall');
  optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort) });
  await waitReady(h.env.OPTIMIZER_URL!);
  // A timeout no upload here can reach, and a circuit that does not open: only the stall path can
  // answer the hung uploads below (a test that hangs on them fails by its own timeout).
  const env = {
    ...h.env,
    PORT: '0',
    OPTIMIZER_TIMEOUT_MS: '600000',
    CIRCUIT_FAILURE_THRESHOLD: '1000',
    OPTIMIZER_STALL_MS: '1000',
    OPTIMIZER_HEALTH_INTERVAL_MS: '250',
  };
  api = await startApi(loadConfig(apiEnv, env), pino({ level: 'info' }, { write: (line: string) => void apiLog.push(line) }));
  quickToGiveUp = await startApi(loadConfig(apiEnv, { ...env, OPTIMIZER_STALL_MS: '500', OPTIMIZER_HEALTH_INTERVAL_MS: '100' }), pino({ level: 'silent' }));
});
afterAll(async () => {
  optimizer?.kill('SIGCONT');
  await api?.stop();
  await quickToGiveUp?.stop();
  optimizer?.kill('SIGTERM');
  await optimizer?.exited;
  await h?.cleanup();
});

describe('a hung optimizer', () => {
  it('gives a healthy but slow 24 MP photo its 200, even with a stall bound far below its work', async () => {
    const photo = await makeJpeg(900, 6000, 4000);
    const res = await upload(quickToGiveUp.url, photo);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
  });

  it('queues the uploads in flight and the next ones once it stops answering, then the worker finishes them', async () => {
    expect((await upload(api.url, await makeJpeg(901, 320, 240))).status).toBe(200);
    optimizer.kill('SIGSTOP');
    const answers = await Promise.all([902, 903, 904].map(async (seed) => upload(api.url, await makeJpeg(seed, 320, 240))));
    expect(answers.map((res) => res.status)).toEqual([202, 202, 202]);
    const ids = await Promise.all(answers.map(async (res) => ((await res.json()) as { jobId: string }).jobId));
    await waitFor(() => apiLog.filter((line) => line.includes('optimizer stopped answering its health probe')).length >= 3, {
      what: 'the api to log why it gave up the three calls',
    });

    optimizer.kill('SIGCONT');
    await h.startWorker();
    for (const id of ids) {
      await waitFor(async () => ((await (await fetch(`${api.url}/status/${id}`)).json()) as { status: string }).status === 'done', { what: `job ${id} done` });
    }
  });
});
