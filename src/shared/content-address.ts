/**
 * Content addressing: an original's id is the SHA-256 of its bytes, a result's id the SHA-256 of
 * that hash with its settings (watermark/identity.ts), and object keys derive from them.
 */
import { createHash } from 'node:crypto';

const HASH_PATTERN = /^[0-9a-f]{64}$/;
const EXT_PATTERN = /^[a-z0-9]{2,5}$/;

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isImageHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_PATTERN.test(value);
}

export function originalKey(hash: string, ext: string): string {
  return `original/${hash}.${ext}`;
}

export function watermarkedKey(resultId: string, ext: string): string {
  return `watermarked/${resultId}.${ext}`;
}

/** Where the worker records a job that failed for good, so its status survives a Redis loss. */
export function failureRecordKey(resultId: string): string {
  return `failed/${resultId}.json`;
}

/** Where the api records a queued job (its message), so a pending status survives a Redis loss. */
export function queuedJobKey(resultId: string): string {
  return `jobs/${resultId}.json`;
}

/** Parses `original/<hash>.<ext>`; anything else (other prefixes, `..`, extra segments) is refused. */
export function parseOriginalKey(key: string): { hash: string; ext: string } | undefined {
  const [, hash, ext] = /^original\/([0-9a-f]{64})\.([a-z0-9]{2,5})$/.exec(key) ?? [];
  if (hash === undefined || ext === undefined || !EXT_PATTERN.test(ext)) return undefined;
  return { hash, ext };
}

/**
 * A filename safe to log, store as metadata and echo in JSON: no path, no control characters,
 * at most 255 characters. The id never derives from it.
 */
export function sanitizeFilename(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = base
    // eslint-disable-next-line no-control-regex -- control characters are what it removes
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .replace(/^\.+/, '')
    .trim();
  return cleaned.slice(0, 255) || 'upload';
}
