import { describe, expect, it } from 'vitest';
import type { PresetsView } from '../../../src/shared/contracts/presets-view.js';
import { fetchPresets } from '../../../src/web/src/presets-client.js';
import { fakeFetch, json, watermarkSettings } from './fakes.js';

const VIEW: PresetsView = {
  presets: [
    { name: 'default', settings: watermarkSettings(), allows: {} },
    { name: 'web', settings: watermarkSettings({ text: 'ACME' }), allows: { text: { kind: 'text', maxLength: 64 } } },
  ],
  logos: [],
};

describe('fetchPresets', () => {
  it('reads GET /presets', async () => {
    const { fetch, calls } = fakeFetch(() => json(VIEW));
    expect(await fetchPresets(fetch)).toEqual(VIEW);
    expect(calls.map((call) => call.url)).toEqual(['/presets']);
  });

  it('is null when the api does not answer presets, so the page uploads without options', async () => {
    const answers = [
      () => json({ title: 'Not Found' }, 404),
      () => json({ presets: [{ name: 'web' }] }),
      () => new Response('<html></html>', { headers: { 'Content-Type': 'text/html' } }),
      () => Promise.reject(new TypeError('fetch failed')),
    ];
    for (const answer of answers) expect(await fetchPresets(fakeFetch(answer).fetch)).toBeNull();
  });
});
