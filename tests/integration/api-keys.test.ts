/**
 * API keys on the real api: without a key the protected routes answer 401 problem+json with a
 * Bearer challenge, a known key passes, a key limited to other presets gets 403, nothing of a
 * refused upload is stored, and the key's id (never its secret) reaches the logs and metrics.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedImagePath } from '../../src/api/access/signed-url.js';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { apiEnv, ConfigError, loadConfig } from '../../src/shared/config.js';
import { originalKey } from '../../src/shared/content-address.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { waitReady } from '../helpers/processes.js';

const FILE_SECRET = 'file-key-secret-0123456789';
const DIGEST_ONLY_SECRET = 'digest-only-secret-0123456789';
const THUMBS_SECRET = 'thumbs-only-secret-0123456789';
const NEW_SIGNING_KEY = 'new-url-signing-key-0123456789abcdef';
const OLD_SIGNING_KEY = 'old-url-signing-key-0123456789abcdef';

let h: Harness;
let api: RunningApi;
let dir: string;
const logLines: string[] = [];

beforeAll(async () => {
  h = await createHarness('api-keys');
  await h.startOptimizer();
  dir = mkdtempSync(join(tmpdir(), 'nws-keys-'));
  const keysFile = join(dir, 'keys.yaml');
  writeFileSync(
    keysFile,
    [
      'keys:',
      `  - { id: web, secret: ${FILE_SECRET} }`,
      `  - { id: batch, sha256: ${createHash('sha256').update(DIGEST_ONLY_SECRET).digest('hex')} }`,
      `  - { id: thumbs, secret: ${THUMBS_SECRET}, presets: [thumbs] }`,
    ].join('\n'),
  );
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  api = await startApi(
    loadConfig(apiEnv, { ...h.env, PORT: '0', API_KEYS: 'ci:k1', API_KEYS_FILE: keysFile, URL_SIGNING_KEYS: `${NEW_SIGNING_KEY},${OLD_SIGNING_KEY}` }),
    logger,
  );
  await waitReady(api.url);
});
afterAll(async () => {
  await api?.stop();
  await h?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function uploadWith(data: Buffer, headers: Record<string, string>): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), 'photo.jpg');
  return fetch(`${api.url}/upload`, { method: 'POST', body: form, headers });
}

async function problemOf(res: Response): Promise<{ type: string; status: number; detail: string } & Record<string, unknown>> {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return (await res.json()) as { type: string; status: number; detail: string };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

describe('API keys', () => {
  it('refuses an upload without a key with 401, a Bearer challenge, and stores nothing', async () => {
    const image = await makeJpeg(401, 64, 48);
    const res = await uploadWith(image, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="nws-watermark"');
    const problem = await problemOf(res);
    expect(problem.type).toMatch(/\/unauthorized$/);
    expect(problem.detail).toContain('Authorization: Bearer');
    expect(await h.store.exists(originalKey(sha256(image), 'jpg'))).toBe(false);
  });

  it('refuses an unknown or malformed key with 401 invalid_token', async () => {
    for (const authorization of ['Bearer not-a-key', 'Basic Y2k6azE=', 'Bearer']) {
      const res = await uploadWith(await makeJpeg(402, 64, 48), { Authorization: authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="nws-watermark", error="invalid_token"');
      expect((await problemOf(res)).status).toBe(401);
    }
  });

  it('serves an upload, its status, image and events to a known key, and each of them only with a key', async () => {
    const image = await makeJpeg(403, 64, 48);
    const hash = sha256(image);
    const res = await uploadWith(image, bearer('k1'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-image-hash')).toBe(hash);
    const id = res.headers.get('x-result-id') ?? '';
    for (const path of [`/status/${id}`, `/image/${id}`, `/events/${id}`]) {
      const refused = await fetch(`${api.url}${path}`);
      expect(refused.status, path).toBe(401);
      await refused.body?.cancel();
      const served = await fetch(`${api.url}${path}`, { headers: bearer(FILE_SECRET) });
      expect(served.status, path).toBe(200);
      await served.body?.cancel();
    }
  });

  it('knows a key of which the file holds only the SHA-256', async () => {
    expect((await uploadWith(await makeJpeg(404, 64, 48), bearer(DIGEST_ONLY_SECRET))).status).toBe(200);
  });

  it('refuses with 403 a key that may not use the preset, before anything is stored', async () => {
    const image = await makeJpeg(405, 64, 48);
    const res = await uploadWith(image, bearer(THUMBS_SECRET));
    expect(res.status).toBe(403);
    const problem = await problemOf(res);
    expect(problem.type).toMatch(/\/preset-not-allowed$/);
    expect(problem).toMatchObject({ preset: 'default', allowedPresets: ['thumbs'] });
    expect(problem.detail).toContain('"thumbs"');
    expect(await h.store.exists(originalKey(sha256(image), 'jpg'))).toBe(false);
  });

  it('leaves the probes and /metrics open, and counts requests by key id', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/^watermark_api_key_requests_total\{key="ci",service="api"\} [1-9]/m);
    expect(metrics).toMatch(/^watermark_api_key_requests_total\{key="web",service="api"\} [1-9]/m);
    expect(metrics).toMatch(/^watermark_api_key_refusals_total\{reason="missing",service="api"\} [1-9]/m);
    expect(metrics).toMatch(/^watermark_api_key_refusals_total\{reason="unknown",service="api"\} [1-9]/m);
    expect(metrics).toMatch(/^watermark_api_key_refusals_total\{reason="malformed",service="api"\} [1-9]/m);
  });

  it('logs refusals and says it requires keys, and no secret ever reaches the log', () => {
    const log = logLines.join('');
    expect(log).toContain('API key required (4 keys)');
    expect(log).toContain('request refused: no valid API key');
    for (const secret of ['k1', FILE_SECRET, DIGEST_ONLY_SECRET, THUMBS_SECRET, 'not-a-key']) expect(log).not.toContain(`"${secret}`);
    expect(log).not.toContain(FILE_SECRET);
  });

  it('gives a signed URL for a result, which serves it without a key; expired or forged ones get 403', async () => {
    const image = await makeJpeg(407, 64, 48);
    const res = await uploadWith(image, bearer('k1'));
    expect(res.status).toBe(200);
    // Results are addressed by their id (the bytes and the settings), not the bytes' hash.
    const hash = res.headers.get('x-result-id') ?? '';
    const signed = res.headers.get('content-location') ?? '';
    expect(signed).toMatch(new RegExp(`^/image/${hash}\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    const served = await fetch(`${api.url}${signed}`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe(res.headers.get('content-type'));

    const status = (await (await fetch(`${api.url}/status/${hash}`, { headers: bearer('k1') })).json()) as { status: string; signedUrl?: string };
    expect(status.status).toBe('done');
    expect((await fetch(`${api.url}${status.signedUrl ?? ''}`)).status).toBe(200);

    // Signed by the key that is second in the list (being rotated out): still valid.
    const byOld = signedImagePath(hash, Math.floor(Date.now() / 1000) + 60, [OLD_SIGNING_KEY]);
    expect((await fetch(`${api.url}${byOld}`)).status).toBe(200);

    const expired = await fetch(`${api.url}${signedImagePath(hash, 1_000_000_000, [NEW_SIGNING_KEY])}`);
    expect(expired.status).toBe(403);
    expect((await problemOf(expired)).type).toMatch(/\/signed-url-expired$/);
    for (const forged of [
      signedImagePath(hash, Math.floor(Date.now() / 1000) + 60, ['an-attacker-key-0123456789abcdef']),
      signed.replace(/expires=\d+/, 'expires=9999999999'),
      signed.replace(hash, 'c'.repeat(64)),
      `/image/${hash}?sig=${'A'.repeat(43)}`,
    ]) {
      const refused = await fetch(`${api.url}${forged}`);
      expect(refused.status, forged).toBe(403);
      expect((await problemOf(refused)).type).toMatch(/\/bad-signature$/);
    }
  });

  it("puts the key's id on the upload's log lines", async () => {
    await h.stopOptimizer();
    const res = await uploadWith(await makeJpeg(406, 64, 48), bearer('k1'));
    expect(res.status).toBe(202);
    const queued = logLines.filter((line) => line.includes('optimizer unavailable; queueing'));
    expect(queued).toHaveLength(1);
    expect(JSON.parse(queued[0]!)).toMatchObject({ keyId: 'ci', correlationId: expect.any(String) });
  });

  it('does not start with a bad key file, and names the key and field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- { id: web, secret: short }\n');
    const start = startApi(loadConfig(apiEnv, { ...h.env, PORT: '0', API_KEYS_FILE: bad }), pino({ level: 'silent' }));
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(`API_KEYS_FILE (${bad}): keys[0].secret: expected a secret of at least 16 characters`);
  });
});
