/**
 * The web page in Debian's Chromium (playwright-core), served by the real api: a nominal upload
 * shows the watermarked image; with the optimizer down the page shows the job pending, then the
 * image with the rabbit badge (an inline SVG, not an emoji) once the optimizer is back and the
 * worker has finished it. The api has presets (PRESETS_FILE): the options panel re-uploads with
 * the chosen text, position and format, offers only what a preset allows, and shows a refused option.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';

const WEB_ROOT = fileURLToPath(new URL('../../dist/web', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let h: Harness;
let api: string;
/** The same api asking for a key. */
let keyedApi: string;
const KEY = 'e2e-key-0123456789';
let browser: Browser;
let page: Page;
const files = mkdtempSync(join(tmpdir(), 'nws-e2e-'));

/** `web` lets the page change text, position, opacity (≥ 0.2) and format; `strict` two positions and two formats. */
const PRESETS_YAML = `
presets:
  web:
    description: Your own mark
    allow:
      text: { maxLength: 64 }
      position: true
      opacity: { min: 0.2 }
      format: true
  strict:
    format: jpeg
    allow:
      position: [southwest, southeast]
      format: [jpeg, webp]
`;

beforeAll(async () => {
  if (!existsSync(join(WEB_ROOT, 'index.html'))) throw new Error('dist/web is missing: run `npm run build:web` (npm test does)');
  h = await createHarness('e2e');
  // In the harness's env, so every service of this world reads it, the optimizer restarted by a test too.
  h.env.PRESETS_FILE = join(files, 'presets.yaml');
  writeFileSync(h.env.PRESETS_FILE, PRESETS_YAML);
  await h.startOptimizer();
  await h.startWorker();
  api = (await h.startApi({ WEB_ROOT })).url;
  keyedApi = (await h.startApi({ WEB_ROOT, API_KEYS: `e2e:${KEY}` })).url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
});
afterAll(async () => {
  await browser?.close();
  await h?.cleanup();
});

/** Collects the page's Content-Security-Policy violations, from the DOM event and from the console. */
async function watchViolations(target: Page): Promise<string[]> {
  const violations: string[] = [];
  await target.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await target.addInitScript(() => {
    const report = (window as unknown as { reportViolation: (text: string) => void }).reportViolation;
    document.addEventListener('securitypolicyviolation', (e) => report(`${e.violatedDirective} ${e.blockedURI}`));
  });
  target.on('console', (msg) => {
    if (msg.type() === 'error' && msg.text().includes('Content Security Policy')) violations.push(msg.text());
  });
  return violations;
}

async function imageFile(seed: number): Promise<string> {
  const path = join(files, `photo-${seed}.jpg`);
  writeFileSync(path, await makeJpeg(seed, 1600, 1000));
  return path;
}

describe('web page', () => {
  it('uploads an image and shows the watermarked result', async () => {
    await page.goto(api);
    await page.getByTestId('file-input').setInputFiles(await imageFile(300));
    const result = page.getByTestId('result-image');
    await result.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
    expect(await page.getByTestId('badge-rabbit').count()).toBe(0);
    await expect.poll(() => page.getByTestId('elapsed').textContent()).toMatch(/\d+\s*ms/);
    await page.screenshot({ path: join(files, 'nominal.png') });
  });

  it('shows the cache HIT badge for the same image again', async () => {
    await page.getByTestId('file-input').setInputFiles(await imageFile(300));
    await page.getByTestId('badge-cache-hit').first().waitFor({ state: 'visible', timeout: 20_000 });
  });

  it('follows a queued job while the optimizer is down, then shows it with the rabbit badge', async () => {
    await h.stopOptimizer();
    await page.getByTestId('file-input').setInputFiles(await imageFile(301));
    await expect.poll(async () => (await page.getByTestId('status').textContent()) ?? '', { timeout: 20_000 }).toMatch(/queue|pending|wait/i);
    await page.screenshot({ path: join(files, 'pending.png') });
    await h.startOptimizer();
    const badge = page.getByTestId('badge-rabbit').first();
    await badge.waitFor({ state: 'visible', timeout: 30_000 });
    const result = page.getByTestId('result-image');
    await result.waitFor({ state: 'visible' });
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
    // The rabbit is drawn, whatever fonts the machine has: an SVG with a size, and no emoji.
    expect(await badge.textContent()).not.toMatch(/\p{Extended_Pictographic}/u);
    const icon = await badge.locator('svg[data-icon="rabbit"]').boundingBox();
    expect(icon?.width).toBeGreaterThan(8);
    expect(icon?.height).toBeGreaterThan(8);
    await page.screenshot({ path: join(files, 'rabbit.png') });
  });

  it('works under its strict Content-Security-Policy: an upload and its result, and not one violation', async () => {
    const strict = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const violations = await watchViolations(strict);
    const answer = await strict.goto(api);
    expect(answer?.headers()['content-security-policy']).toContain("default-src 'self'");
    await strict.getByTestId('file-input').setInputFiles(await imageFile(302));
    const result = strict.getByTestId('result-image');
    await result.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
    expect(violations).toEqual([]);
    await strict.close();
  });

  // Chromium reads an early answer even from a connection reset under its upload (Node's fetch does
  // not: tests/integration/early-answers.test.ts); these keep it reading it with the lingering close.
  it('shows the 413 of a file over the upload limit, answered while its body is still arriving', async () => {
    const tooBig = join(files, 'too-big.jpg');
    const body = Buffer.alloc(40 * 1024 * 1024, 0x5a);
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(body);
    writeFileSync(tooBig, body);
    await page.getByTestId('file-input').setInputFiles(tooBig);
    await expect.poll(async () => (await page.getByTestId('error').textContent()) ?? '', { timeout: 30_000 }).toMatch(/exceeds the limit of 26214400 bytes/);
  });

  it("reads the 413 with the browser's own fetch, past the bytes the api discards", async () => {
    // 60 MB: more than the api reads on after its answer (twice the limit), so the connection is cut
    // under the upload, after the answer.
    const answer = await page.evaluate(async () => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(60 * 1024 * 1024)], { type: 'image/jpeg' }), 'huge.jpg');
      try {
        const res = await fetch('/upload', { method: 'POST', body: form });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      } catch (err) {
        return { status: 0, type: null, body: String(err) };
      }
    });
    expect(answer).toMatchObject({ status: 413, type: expect.stringContaining('application/problem+json') as unknown });
    expect(JSON.parse(answer.body)).toMatchObject({ status: 413, maxBytes: 25 * 1024 * 1024 });
  });
});

describe('web page options', () => {
  let opts: Page;
  let violations: string[];
  beforeAll(async () => {
    opts = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    violations = await watchViolations(opts);
    await opts.goto(api);
  });

  const settingsShown = async () => (await opts.getByTestId('result-settings').textContent()) ?? '';

  it('uploads again with the chosen text, position and format, and says which settings made the result', async () => {
    await opts.getByTestId('file-input').setInputFiles(await imageFile(320));
    await opts.getByTestId('result-image').waitFor({ state: 'visible', timeout: 20_000 });
    await opts.getByLabel('Preset').selectOption('web');
    await opts.getByLabel('Watermark text').fill('Hello from e2e');
    await opts.getByRole('button', { name: 'northwest', exact: true }).click();
    await opts.getByLabel('Format').selectOption('webp');

    await expect.poll(settingsShown, { timeout: 30_000 }).toMatch(/Presetweb.*TextHello from e2e.*Positionnorthwest.*Formatwebp/);
    const result = opts.getByTestId('result-image');
    expect(await result.getAttribute('data-content-type')).toBe('image/webp');
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
    expect(await opts.getByTestId('download-link').getAttribute('download')).toBe('photo-320-watermarked.webp');
    await opts.screenshot({ path: join(files, 'options.png') });
    expect(violations).toEqual([]);
  });

  it('offers only the positions and formats the preset allows, and no text where it allows none', async () => {
    await opts.getByLabel('Preset').selectOption('strict');
    const grid = opts.getByRole('group', { name: 'Position' });
    const enabled = await grid
      .getByRole('button')
      .evaluateAll((buttons) => buttons.filter((b) => !(b as HTMLButtonElement).disabled).map((b) => b.getAttribute('aria-label')));
    expect(enabled).toEqual(['southwest', 'southeast']);
    expect(await grid.getByRole('button').count()).toBe(9);
    const formats = await opts
      .getByLabel('Format')
      .locator('option')
      .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(formats).toEqual(['jpeg', 'webp']);
    expect(await opts.getByLabel('Watermark text').count()).toBe(0);
    expect(await opts.getByLabel('Opacity').count()).toBe(0);
    await expect.poll(settingsShown, { timeout: 30_000 }).toMatch(/Presetstrict.*Formatjpeg/);
  });

  it('shows the options the api refused, and uploads again once they are fixed', async () => {
    await opts.getByLabel('Preset').selectOption('web');
    // Past the input's maxLength, as a script could: the api holds the bound too.
    const text = opts.getByLabel('Watermark text');
    await text.evaluate((input: HTMLInputElement) => input.removeAttribute('maxlength'));
    await text.fill('x'.repeat(70));
    await expect
      .poll(async () => (await opts.getByTestId('invalid-options').textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/text: expected a text of at most 64 characters/);
    expect(await opts.getByTestId('status').getAttribute('data-state')).toBe('error');

    await text.fill('Fixed');
    await expect.poll(settingsShown, { timeout: 30_000 }).toMatch(/TextFixed/);
    expect(violations).toEqual([]);
  });
});

describe('web page on an api that asks for a key', () => {
  let keyed: Page;
  beforeAll(async () => {
    keyed = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  });

  it('asks for the key on the first upload, says when one is refused, then uploads with it', async () => {
    await keyed.goto(keyedApi);
    await keyed.getByTestId('file-input').setInputFiles(await imageFile(310));
    await expect.poll(async () => (await keyed.getByTestId('api-key-why').textContent()) ?? '', { timeout: 20_000 }).toMatch(/asks for an API key/);
    await keyed.getByTestId('api-key-input').fill('not-the-key');
    await keyed.getByTestId('api-key-submit').click();
    await expect.poll(async () => (await keyed.getByTestId('api-key-why').textContent()) ?? '', { timeout: 20_000 }).toMatch(/was refused/);
    await keyed.getByTestId('api-key-input').fill(`Bearer ${KEY}`);
    await keyed.getByTestId('api-key-submit').click();
    const result = keyed.getByTestId('result-image');
    await result.waitFor({ state: 'visible', timeout: 20_000 });
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
    expect(await keyed.evaluate(() => sessionStorage.getItem('nws-watermark:api-key'))).toBe(KEY);
    await keyed.getByTestId('api-key-forget').waitFor({ state: 'visible' });
    await keyed.screenshot({ path: join(files, 'keyed.png') });
  });

  it('keeps the key across a reload of the tab', async () => {
    await keyed.reload();
    await keyed.getByTestId('file-input').setInputFiles(await imageFile(311));
    await keyed.getByTestId('result-image').waitFor({ state: 'visible', timeout: 20_000 });
    expect(await keyed.getByTestId('api-key-form').count()).toBe(0);
  });

  it('follows a queued job with the key, by polling, and shows it once a worker finished it', async () => {
    await h.stopOptimizer();
    await keyed.getByTestId('file-input').setInputFiles(await imageFile(312));
    await expect.poll(async () => keyed.getByTestId('follow-mode').getAttribute('data-mode'), { timeout: 20_000 }).toBe('polling');
    await h.startOptimizer();
    await keyed.getByTestId('badge-rabbit').first().waitFor({ state: 'visible', timeout: 30_000 });
    const result = keyed.getByTestId('result-image');
    await result.waitFor({ state: 'visible' });
    expect(await result.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1600);
  });

  it('asks again once the key is forgotten', async () => {
    await keyed.getByTestId('api-key-forget').click();
    expect(await keyed.evaluate(() => sessionStorage.getItem('nws-watermark:api-key'))).toBeNull();
    await keyed.getByTestId('file-input').setInputFiles(await imageFile(313));
    await keyed.getByTestId('api-key-form').waitFor({ state: 'visible', timeout: 20_000 });
  });
});
