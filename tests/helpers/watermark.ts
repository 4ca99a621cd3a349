/** Watermark settings for tests: `default` as the variables' defaults make it, and jobs that carry settings. */
import { originalKey } from '../../src/shared/content-address.js';
import type { Job, WatermarkSettings } from '../../src/shared/contracts/index.js';
import { resultIdFor } from '../../src/shared/watermark/identity.js';

/** What `default` is with no WATERMARK_* or OUTPUT_* variable set (shared/watermark/presets.ts settingsFromEnv). */
export const DEFAULT_SETTINGS: WatermarkSettings = {
  text: 'NWS',
  logo: null,
  position: 'southeast',
  offsetX: '24px',
  offsetY: '24px',
  opacity: 0.5,
  scale: null,
  rotate: 0,
  tile: false,
  spacing: 3,
  format: 'auto',
  quality: 80,
  effort: 'fast',
  maxEdge: 2048,
};

/** A job for `hash` as the worker decodes it: its settings and the result id they give. */
export function testJob(hash: string, settings: WatermarkSettings = DEFAULT_SETTINGS, ext = 'jpg'): Job {
  return {
    hash,
    result_id: resultIdFor(hash, settings),
    settings,
    original_key: originalKey(hash, ext),
    filename: 'photo.jpg',
    content_type: 'image/jpeg',
    enqueued_at: '',
  };
}
