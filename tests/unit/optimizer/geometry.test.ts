import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { marginPx, outputSize, placeBox, rotatedBox, swapsAxes } from '../../../src/optimizer/geometry.js';

/** What the pipeline does to the geometry, minus the watermark. */
async function sharpOutputSize(input: Buffer, maxEdge: number): Promise<{ width: number; height: number }> {
  const { info } = await sharp(input, { failOn: 'error', animated: false })
    .rotate()
    .resize(maxEdge, maxEdge, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: false })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height };
}

/** Deterministic pseudo-random sizes so a failure reproduces. */
function* sizes(count: number, seed: number): Generator<[number, number, number]> {
  let state = seed;
  const next = (max: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 1 + (state % max);
  };
  for (let i = 0; i < count; i++) yield [next(1400), next(1400), next(300)];
}

describe('outputSize', () => {
  it('never enlarges an image that already fits', () => {
    expect(outputSize({ width: 300, height: 200 }, 1000)).toEqual({ width: 300, height: 200 });
    expect(outputSize({ width: 1000, height: 1000 }, 1000)).toEqual({ width: 1000, height: 1000 });
  });

  it('fits the longer edge to the box and keeps the aspect ratio', () => {
    expect(outputSize({ width: 3000, height: 2000 }, 1000)).toEqual({ width: 1000, height: 667 });
    expect(outputSize({ width: 2000, height: 3000, format: 'png' }, 2048)).toEqual({ width: 1365, height: 2048 });
  });

  it('keeps at least one pixel on a needle-thin image', () => {
    expect(outputSize({ width: 5000, height: 1 }, 100)).toEqual({ width: 100, height: 1 });
  });

  it('swaps width and height for EXIF orientations 5 to 8 only', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(swapsAxes)).toEqual([false, false, false, false, true, true, true, true]);
    expect(swapsAxes(undefined)).toBe(false);
    expect(outputSize({ width: 3000, height: 2000, orientation: 6 }, 1000)).toEqual({ width: 667, height: 1000 });
    expect(outputSize({ width: 300, height: 200, orientation: 8, format: 'jpeg' }, 1000)).toEqual({ width: 200, height: 300 });
  });

  it.each(['jpeg', 'png', 'webp'] as const)('agrees with sharp on %s inputs of many sizes', async (format) => {
    for (const [width, height, maxEdge] of sizes(25, format.length * 7919)) {
      const input = await sharp({ create: { width, height, channels: 3, background: '#808080' } })
        [format]()
        .toBuffer();
      const meta = await sharp(input).metadata();
      const expected = await sharpOutputSize(input, maxEdge);
      // The input travels with the result so a failure names the case.
      const name = `${width}x${height} into ${maxEdge}`;
      expect({ name, ...outputSize({ width, height, format: meta.format }, maxEdge) }).toEqual({ name, ...expected });
    }
  });

  it('agrees with sharp on JPEG shrink-on-load boundaries and rotated inputs', async () => {
    const cases: [number, number, number, number][] = [
      [999, 333, 100, 1],
      [1600, 1200, 100, 6],
      [1600, 1200, 200, 8],
      [4096, 1024, 256, 1],
      [1026, 770, 128, 5],
      [800, 601, 50, 6],
    ];
    for (const [width, height, maxEdge, orientation] of cases) {
      const input = await sharp({ create: { width, height, channels: 3, background: '#808080' } })
        .withMetadata({ orientation })
        .jpeg()
        .toBuffer();
      const meta = await sharp(input).metadata();
      expect(meta.orientation).toBe(orientation);
      expect(outputSize({ width, height, orientation, format: meta.format }, maxEdge)).toEqual(await sharpOutputSize(input, maxEdge));
    }
  });
});

describe('placeBox', () => {
  const size = { width: 1000, height: 500 };
  const box = { width: 100, height: 40 };

  it.each([
    ['northwest', 10, 20],
    ['north', 450, 20],
    ['northeast', 890, 20],
    ['west', 10, 230],
    ['center', 450, 230],
    ['east', 890, 230],
    ['southwest', 10, 440],
    ['south', 450, 440],
    ['southeast', 890, 440],
  ] as const)('puts %s at the margins from its edges, centred on a centred axis', (gravity, left, top) => {
    expect(placeBox(size, box, gravity, { x: 10, y: 20 })).toEqual({ left, top });
  });

  it('keeps the box inside the image whatever the margins', () => {
    expect(placeBox(size, box, 'southeast', { x: 5000, y: 5000 })).toEqual({ left: 0, top: 0 });
    expect(placeBox(size, box, 'northwest', { x: 5000, y: 5000 })).toEqual({ left: 900, top: 460 });
  });
});

describe('marginPx', () => {
  it('takes pixels as given up to the bound, and percents of the axis', () => {
    expect(marginPx('24px', 1000, 50)).toBe(24);
    expect(marginPx('240px', 1000, 50)).toBe(50);
    expect(marginPx('2.5%', 1000, 50)).toBe(25);
    expect(marginPx('50%', 333, 10)).toBe(167);
  });
});

describe('rotatedBox', () => {
  it('is the box itself level or half-turned, its sides swapped at a quarter turn, and wider at 45°', () => {
    expect(rotatedBox(100, 40, 0)).toEqual({ width: 100, height: 40 });
    const half = rotatedBox(100, 40, 180);
    expect(half.width).toBeCloseTo(100);
    expect(half.height).toBeCloseTo(40);
    const quarter = rotatedBox(100, 40, -90);
    expect(quarter.width).toBeCloseTo(40);
    expect(quarter.height).toBeCloseTo(100);
    const diagonal = rotatedBox(100, 40, 45);
    expect(diagonal.width).toBeCloseTo(140 / Math.SQRT2);
    expect(diagonal.height).toBeCloseTo(140 / Math.SQRT2);
  });
});
