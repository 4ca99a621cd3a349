/**
 * A result's identity: `resultId = sha256(originalHash, canonical settings, pipeline version)`.
 * The same bytes with the same effective settings are one result (a cache hit, or the same pending
 * job); anything that changes the output bytes must change the id, so the canonical form holds every
 * setting, the logo's own hash, and PIPELINE_VERSION for the code.
 */
import { createHash } from 'node:crypto';
import { SETTING_NAMES, type WatermarkSettings } from '../contracts/watermark-settings.js';

/** Bump whenever pipeline code changes what it outputs for the same settings. */
export const PIPELINE_VERSION = '2';

/**
 * The settings as one JSON text with the keys in a fixed order and numbers as JSON writes them, so
 * two equal settings give the same text whatever order their object was built in.
 */
export function canonicalSettings(settings: WatermarkSettings): string {
  const ordered: Record<string, unknown> = {};
  for (const name of SETTING_NAMES)
    ordered[name] = name === 'logo' && settings.logo ? { name: settings.logo.name, sha256: settings.logo.sha256 } : settings[name];
  return JSON.stringify(ordered);
}

export function resultIdFor(originalHash: string, settings: WatermarkSettings): string {
  // Newline-separated fields: none of them can contain a newline (hex, JSON.stringify escapes them, a version token).
  return createHash('sha256')
    .update(`${originalHash}\n${canonicalSettings(settings)}\n${PIPELINE_VERSION}`)
    .digest('hex');
}

/**
 * The settings as a header value: JSON with every non-ASCII character escaped (`\u00e9`), which is
 * still JSON and only holds characters a header may carry. `X-Watermark-Settings` on a 200.
 */
export function settingsHeader(settings: WatermarkSettings): string {
  return canonicalSettings(settings).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
