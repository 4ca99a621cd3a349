/**
 * The bench's images. Real photographs come from Debian's plasma-workspace-wallpapers package,
 * fetched at bench time (`apt-get download`, `dpkg-deb -x`) into .data/bench-corpus (never
 * committed); generated ones are made with sharp at 1, 4, 12 and 24 megapixels, gradients plus
 * seeded noise so they compress like photographs. `distinct` turns one image into as many different
 * uploads as needed (a JPEG comment segment), so every request is a cache miss.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import type { WatermarkSettings } from '../../src/shared/contracts/index.js';
import { optimizeRequestHead } from '../../src/shared/optimizer-client.js';

export interface CorpusImage {
  name: string;
  data: Buffer;
  width: number;
  height: number;
}

export interface CorpusSet {
  /** Table label: `1 MP`, `photo`, … */
  label: string;
  images: CorpusImage[];
}

const CACHE = join(process.cwd(), '.data', 'bench-corpus');
const PACKAGE = 'plasma-workspace-wallpapers';

/** Up to `count` distinct wallpapers (the largest rendition of each), or a reason why there are none. */
export async function photographs(count: number): Promise<{ images: CorpusImage[]; note: string }> {
  const dir = join(CACHE, 'photos');
  if (!existsSync(dir) || readdirSync(dir).length === 0) {
    try {
      fetchWallpapers(dir);
    } catch (err) {
      return { images: [], note: `no photographs: fetching ${PACKAGE} failed (${(err as Error).message.split('\n')[0]}); generated images only` };
    }
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, count);
  const images = await Promise.all(files.map(async (f) => load(f.replace(/\.jpg$/, ''), readFileSync(join(dir, f)))));
  return { images, note: `${images.length} photographs from Debian's ${PACKAGE}` };
}

function fetchWallpapers(dir: string): void {
  const work = join(CACHE, 'download');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync('apt-get', ['download', PACKAGE], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download produced no .deb');
  execFileSync('dpkg-deb', ['-x', deb, 'x'], { cwd: work, timeout: 180_000 });
  // Each wallpaper ships several renditions (often symlinks to one file): keep the largest real JPEG of each.
  const best = new Map<string, { path: string; size: number }>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && /\.jpe?g$/i.test(entry.name) && !/screenshot/i.test(entry.name)) {
        const wallpaper = relative(join(work, 'x', 'usr', 'share', 'wallpapers'), path).split('/')[0] ?? path;
        const size = statSync(path).size;
        if (size > (best.get(wallpaper)?.size ?? 100_000)) best.set(wallpaper, { path, size });
      }
    }
  };
  walk(join(work, 'x'));
  mkdirSync(dir, { recursive: true });
  for (const [name, { path }] of best) writeFileSync(join(dir, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}.jpg`), readFileSync(path));
  rmSync(work, { recursive: true, force: true });
  if (best.size === 0) throw new Error(`${PACKAGE} holds no JPEG`);
}

/** A 4:3 image of about `megapixels`, cached on disk. */
export async function generated(megapixels: number, seed = megapixels): Promise<CorpusImage> {
  const width = Math.round(Math.sqrt((megapixels * 1e6 * 4) / 3));
  const height = Math.round((width * 3) / 4);
  const file = join(CACHE, 'generated', `${megapixels}mp-${seed}.jpg`);
  if (!existsSync(file)) {
    mkdirSync(join(CACHE, 'generated'), { recursive: true });
    writeFileSync(
      file,
      await sharp(photoLike(seed, width, height), { raw: { width, height, channels: 3 } })
        .jpeg({ quality: 88 })
        .toBuffer(),
    );
  }
  return load(`${megapixels}mp`, readFileSync(file));
}

async function load(name: string, data: Buffer): Promise<CorpusImage> {
  const { width, height } = await sharp(data).metadata();
  return { name, data, width, height };
}

/** Gradients, soft waves and seeded grain: smooth areas and texture, as in a photograph. */
function photoLike(seed: number, width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let y = 0; y < height; y += 1) {
    const wave = Math.sin((y / height) * 9 + seed) * 40;
    for (let x = 0; x < width; x += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const grain = ((state >>> 0) % 14) - 7;
      const i = (y * width + x) * 3;
      const ripple = Math.sin((x / width) * 13 + wave / 20) * 30;
      data[i] = (x * 200) / width + wave + grain + 20;
      data[i + 1] = (y * 200) / height + ripple + grain + 20;
      data[i + 2] = 128 + wave - ripple + grain;
    }
  }
  return data;
}

let counter = 0;

/**
 * The same picture as new bytes: a JPEG comment segment (FF FE) right after SOI carrying a unique
 * token. Decoders skip comments, so the pixels and the work are identical; the SHA-256 differs.
 */
export function distinct(jpeg: Buffer): Buffer {
  const token = Buffer.from(`nws-bench ${process.pid} ${Date.now()} ${(counter += 1)}`);
  const header = Buffer.from([0xff, 0xfe, ((token.length + 2) >> 8) & 0xff, (token.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), header, token, jpeg.subarray(2)]);
}

const BOUNDARY = '----nws-bench-boundary-7d1f';
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A multipart/form-data body with the file in field `image`, as a browser sends it (and `settings` first, as the api sends the optimizer). */
export function multipartBody(image: Buffer, filename = 'photo.jpg', type = 'image/jpeg', settings?: WatermarkSettings): Buffer {
  const head = optimizeRequestHead(BOUNDARY, filename, type, settings);
  return Buffer.concat([Buffer.from(head), image, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}
