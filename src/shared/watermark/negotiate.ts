/**
 * `format=auto` against the client's `Accept`: AVIF when it is accepted, else WebP, else what the
 * image decides (JPEG, or PNG with alpha). Only a type the client names counts: `*\/*` and
 * `image/*` are what every client sends whatever it decodes (fetch, curl), so, as imgproxy and
 * thumbor do, they never earn a modern format. Pure.
 */
import type { OutputFormatSetting } from '../contracts/watermark-settings.js';

export type NegotiatedFormat = Extract<OutputFormatSetting, 'avif' | 'webp' | 'auto'>;

export function negotiateFormat(accept: string | undefined): NegotiatedFormat {
  const accepted = acceptedTypes(accept ?? '');
  if (accepted.has('image/avif')) return 'avif';
  if (accepted.has('image/webp')) return 'webp';
  return 'auto';
}

/** Media types named with a non-zero quality (`q=0` means "not this one", RFC 9110 §12.5.1). */
function acceptedTypes(accept: string): Set<string> {
  const types = new Set<string>();
  // Bounded: a hostile header of thousands of entries is read for its first hundred only.
  for (const entry of accept.split(',').slice(0, 100)) {
    const [type = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => /^q\s*=/.test(param));
    const quality = q === undefined ? 1 : Number(q.replace(/^q\s*=\s*/, ''));
    if (type !== '' && Number.isFinite(quality) && quality > 0) types.add(type);
  }
  return types;
}
