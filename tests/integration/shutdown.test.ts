/**
 * Graceful shutdown of the api and the optimizer on SIGTERM (the worker's drain is in
 * recovery.test.ts): readiness turns false first while the server still answers, the request in
 * flight is served, and the process exits 0 within its grace period.
 */
import { request, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, freePort, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness('shutdown');
});
afterAll(async () => h?.cleanup());

/** Starts a multipart upload and sends only its first half: the request is in flight until `finish`. */
async function halfSentUpload(url: string, path: string): Promise<{ req: ClientRequest; finish: () => void; status: Promise<number> }> {
  const image = await makeJpeg(800, 800, 600);
  const head = Buffer.from('--B\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n');
  const tail = Buffer.from('\r\n--B--\r\n');
  const body = Buffer.concat([head, image, tail]);
  const req = request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=B', 'content-length': body.length } });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  req.write(body.subarray(0, half));
  return { req, status, finish: () => req.end(body.subarray(half)) };
}

async function drains(child: ChildComponent, url: string, path: string): Promise<void> {
  const upload = await halfSentUpload(url, path);
  child.kill('SIGTERM');
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, { what: 'readiness false while still serving' });
  upload.finish();
  expect(await upload.status).toBe(200);
  expect(await child.exited).toBe(0);
}

describe('graceful shutdown', () => {
  it('api: readiness false first, the upload in flight is served, exit 0', async () => {
    const optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort) });
    await waitReady(h.env.OPTIMIZER_URL!);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = spawnComponent('api', { ...h.env, PORT: String(port), SHUTDOWN_DELAY_MS: '1500', SHUTDOWN_GRACE_MS: '10000' });
    await waitReady(url);
    await drains(api, url, '/upload');
    optimizer.kill('SIGTERM');
    expect(await optimizer.exited).toBe(0);
  });

  it('optimizer: readiness false first, the image in flight is served, exit 0', async () => {
    const optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort), SHUTDOWN_DELAY_MS: '1500', SHUTDOWN_GRACE_MS: '10000' });
    await waitReady(h.env.OPTIMIZER_URL!);
    await drains(optimizer, h.env.OPTIMIZER_URL!, '/optimize');
  });
});
