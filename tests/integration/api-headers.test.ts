/**
 * The api's browser-facing headers on the real server: helmet's security headers on the page, on
 * answers and on problems; CORS off by default, and on for the named origins only, with a
 * preflight that a key-protected api still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { apiEnv, ConfigError, loadConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { waitReady } from '../helpers/processes.js';

const WEB_ROOT = fileURLToPath(new URL('../../dist/web', import.meta.url));
const ALLOWED = 'http://app.example.test:8080';

let h: Harness;
let open: RunningApi;
let withCors: RunningApi;

beforeAll(async () => {
  h = await createHarness('api-headers');
  open = await h.startApi({ WEB_ROOT });
  withCors = await startApi(
    loadConfig(apiEnv, { ...h.env, PORT: '0', CORS_ORIGINS: ` ${ALLOWED} , https://other.example.test`, API_KEYS: 'k1' }),
    createLogger('test', 'silent'),
  );
  await waitReady(withCors.url);
});
afterAll(async () => {
  await withCors?.stop();
  await h?.cleanup();
});

function expectSecurityHeaders(res: Response): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ]) {
    expect(csp).toContain(directive);
  }
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  expect(res.headers.get('x-powered-by')).toBeNull();
}

describe('security headers', () => {
  it('are on the page, its assets, and the answers and problems of the api', async () => {
    const page = await fetch(`${open.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expectSecurityHeaders(page);
    const problem = await fetch(`${open.url}/status/${'0'.repeat(64)}`);
    expect(problem.status).toBe(404);
    expectSecurityHeaders(problem);
    expectSecurityHeaders(await fetch(`${open.url}/nope`));
  });
});

describe('CORS', () => {
  it('is off by default: no Access-Control header, whatever the Origin', async () => {
    const res = await fetch(`${open.url}/status/${'0'.repeat(64)}`, { headers: { Origin: ALLOWED } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${open.url}/upload`, { method: 'OPTIONS', headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of a named origin, before the key check, with the headers a client needs', async () => {
    const preflight = await fetch(`${withCors.url}/upload`, {
      method: 'OPTIONS',
      headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,x-request-id' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it("lets a named origin read the answer's headers, and tells any other origin nothing", async () => {
    const allowed = await fetch(`${withCors.url}/status/${'0'.repeat(64)}`, { headers: { Origin: ALLOWED } });
    expect(allowed.status).toBe(401);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Image-Hash');
    // A page on another origin reads which result it got, and with which settings.
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Result-Id');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Watermark-Settings');
    const other = await fetch(`${withCors.url}/status/${'0'.repeat(64)}`, { headers: { Origin: 'http://evil.example.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses at start an entry of CORS_ORIGINS that is not an origin', () => {
    expect(() => loadConfig(apiEnv, { CORS_ORIGINS: 'https://ok.example.test,https://app.example.test/path' })).toThrow(ConfigError);
    expect(loadConfig(apiEnv, { CORS_ORIGINS: '*' }).CORS_ORIGINS).toEqual(['*']);
    expect(loadConfig(apiEnv, {}).CORS_ORIGINS).toEqual([]);
  });
});
