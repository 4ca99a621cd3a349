/** How numbers, sizes and hashes read on the page. */

export function formatElapsed(ms: number): string {
  return `${Math.round(ms)} ms`;
}

/** Bytes as KB (1 KB = 1024 bytes), one decimal under 100 KB. */
export function formatKilobytes(bytes: number): string {
  const kb = bytes / 1024;
  if (kb < 100) return `${(Math.round(kb * 10) / 10).toFixed(1)} KB`;
  return `${Math.round(kb)} KB`;
}

/** The first 10 hex digits: enough to tell results apart at a glance. */
export function shortHash(hash: string): string {
  return hash.length > 10 ? hash.slice(0, 10) : hash;
}

/** Waiting time as `m:ss` for the pending state. */
export function formatWaiting(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/gif': 'gif',
  'image/tiff': 'tiff',
  'image/svg+xml': 'svg',
};

/** `holiday.heic` + `image/jpeg` → `holiday-watermarked.jpg`. */
export function downloadName(fileName: string, contentType: string): string {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const base = (fileName.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '').trim() || 'image';
  const ext = EXTENSIONS[type] ?? /\.([a-z0-9]{2,5})$/i.exec(fileName)?.[1]?.toLowerCase() ?? 'img';
  return `${base}-watermarked.${ext}`;
}
