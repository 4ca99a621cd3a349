/** Test images generated on the fly (no committed binaries); `seed` makes each one distinct. */
import sharp from 'sharp';

export async function makeJpeg(seed: number, width = 640, height = 480): Promise<Buffer> {
  return sharp(noise(seed, width, height), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export async function makePng(seed: number, width = 320, height = 240, alpha = false): Promise<Buffer> {
  const channels = alpha ? 4 : 3;
  return sharp(noise(seed, width, height, channels), { raw: { width, height, channels } })
    .png()
    .toBuffer();
}

/** A smooth gradient with seeded noise: compresses like a photograph, not like a flat colour. */
function noise(seed: number, width: number, height: number, channels: 3 | 4 = 3): Buffer {
  const data = Buffer.alloc(width * height * channels);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const jitter = (state >>> 0) % 32;
      const i = (y * width + x) * channels;
      data[i] = (x * 255) / width + jitter;
      data[i + 1] = (y * 255) / height + jitter;
      data[i + 2] = ((x + y + seed) * 97) % 256;
      if (channels === 4) data[i + 3] = x < width / 4 ? 0 : 255;
    }
  }
  return data;
}
