/**
 * Scenario 8: the peer. unjs/ipx, the sharp-based image server a Node user would reach for, against
 * our optimizer over HTTP on the same photographs and target (fit inside 2048 px, JPEG quality 80),
 * the same clients, interleaved run by run. Our variants are optimizer processes started with their
 * own env: the encoder efforts, the mark on its region only, and no mark with ipx's encoder
 * (libjpeg-turbo, Huffman pass, progressive: our `balanced`), which is ipx's work. For each: images
 * per second, CPU ms per image of the server process, output bytes and SSIM against a lanczos
 * reference of the same size, after checking both sides produced the same sizes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ssim } from 'ssim.js';
import { freePort } from '../../helpers/harness.js';
import { waitReady } from '../../helpers/processes.js';
import { distinct, multipartBody, MULTIPART_TYPE, type CorpusImage } from '../corpus.js';
import { collectGarbage, CpuMeter } from '../cpu.js';
import { median, runLoad } from '../load.js';
import type { BenchWorld } from '../world.js';

export const IPX_TARGET = 'enlarge,s_2048x2048,fit_inside,q_80,f_jpeg';
const CLIENTS = 4;

export interface PeerVariant {
  name: string;
  perSecond: number;
  cpuMsPerImage: number;
  benchCpuMsPerImage: number;
  meanKb: number;
  ssim: number;
  /** Images whose output size differs from ipx's. */
  sizeMismatches: string[];
}

export interface PeerResult {
  images: number;
  megapixels: number;
  runs: number;
  variants: PeerVariant[];
  /** Our defaults' img/s over ipx's, run by run: the two are measured one right after the other. */
  pairedRatios: number[];
  /** The variant with our defaults, and the one with ipx's settings. */
  defaultName: string;
  equalName: string;
  oriented: number;
}

interface Target {
  name: string;
  /** Timed load: `amount` requests. */
  load: (amount: number) => ReturnType<typeof runLoad>;
  /** One output per image, outside the clock. */
  output: (index: number) => Promise<Buffer>;
  pid: number;
}

/** Our variants: name and the optimizer env that makes it. `default` has none. */
export const OUR_VARIANTS: [string, Record<string, string>][] = [
  ['ours, defaults (region mark, effort fast)', {}],
  ['ours, region mark, effort max (mozjpeg)', { OUTPUT_EFFORT: 'max' }],
  ['ours, region mark, effort balanced', { OUTPUT_EFFORT: 'balanced' }],
  ['ours, whole-frame mark, effort fast', { WATERMARK_REGION_COMPOSITE: 'false' }],
  // A tiled mark covers the frame: the region composite does not apply, and the cost is the frame's.
  ['ours, tiled mark, effort fast', { WATERMARK_TILED: 'true' }],
  ["ours, no mark, ipx's encoder (balanced)", { WATERMARK_OPACITY: '0', OUTPUT_EFFORT: 'balanced' }],
];

async function startIpx(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../ipx-server.mjs', import.meta.url))], {
    env: { ...process.env, PORT: String(port), IPX_DIR: dir },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return { url, child };
}

async function rgba(image: Buffer | sharp.Sharp): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const { data, info } = await (Buffer.isBuffer(image) ? sharp(image) : image).removeAlpha().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** SSIM of an output against the source resized to the same size with lanczos3, from full decode. */
async function quality(source: Buffer, output: Buffer): Promise<number> {
  const out = await rgba(output);
  const reference = await rgba(sharp(source).rotate().resize(out.width, out.height, { fit: 'fill', kernel: 'lanczos3', fastShrinkOnLoad: false }));
  return ssim(reference, out, { ssim: 'weber', downsample: false }).mssim;
}

export async function peer(world: BenchWorld, images: CorpusImage[], opts: { runs: number; seconds: number; log: (s: string) => void }): Promise<PeerResult> {
  const dir = join(world.dir, 'ipx');
  mkdirSync(dir, { recursive: true });
  images.forEach((image, i) => writeFileSync(join(dir, `${i}.jpg`), image.data));
  const oriented = (await Promise.all(images.map((i) => sharp(i.data).metadata()))).filter((m) => (m.orientation ?? 1) > 1).length;
  const ipx = await startIpx(dir);
  const targets: Target[] = [];
  try {
    let next = 0;
    targets.push({
      name: 'ipx',
      pid: ipx.child.pid!,
      load: (amount) => runLoad({ url: ipx.url, connections: CLIENTS, amount, path: () => `/${IPX_TARGET}/${next++ % images.length}.jpg` }),
      output: async (i) => Buffer.from(await (await fetch(`${ipx.url}/${IPX_TARGET}/${i}.jpg`)).arrayBuffer()),
    });
    for (const [index, [name, env]] of OUR_VARIANTS.entries()) {
      const service = await world.start(`optimizer-peer-${index}`, 'optimizer', { LOG_LEVEL: 'warn', ...env });
      targets.push({
        name,
        pid: service.pid,
        load: (amount) => {
          const bodies = Array.from({ length: amount }, (_, i) => multipartBody(distinct(images[i % images.length]!.data)));
          let n = 0;
          return runLoad({
            url: `${service.url}/optimize`,
            connections: CLIENTS,
            amount,
            headers: { 'content-type': MULTIPART_TYPE },
            body: () => bodies[n++ % bodies.length]!,
          });
        },
        output: async (i) => {
          const body = multipartBody(images[i]!.data);
          const res = await fetch(`${service.url}/optimize`, {
            method: 'POST',
            headers: { 'content-type': MULTIPART_TYPE },
            body: body as Uint8Array<ArrayBuffer>,
          });
          if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
          return Buffer.from(await res.arrayBuffer());
        },
      });
    }
    // Warm-up and sizing on our defaults: about `seconds` of work per run.
    for (const target of targets) await target.load(Math.max(2, Math.min(images.length, 4)));
    const warm = await targets[1]!.load(8);
    const amount = Math.max(8, Math.min(80, Math.round(warm.perSecond * opts.seconds)));
    const samples = new Map<string, { perSecond: number[]; cpu: number[]; bench: number[] }>(
      targets.map((t) => [t.name, { perSecond: [], cpu: [], bench: [] }]),
    );
    const pairedRatios: number[] = [];
    for (let run = 0; run < opts.runs; run += 1) {
      // The goal's two, ipx and our defaults, run back to back (each first every other run), so
      // the machine's other load drifts little between them; the rest start one later each run.
      const [ipxTarget, ours, ...rest] = targets;
      const pair = run % 2 === 0 ? [ipxTarget!, ours!] : [ours!, ipxTarget!];
      const order = [...pair, ...rest.map((_, i) => rest[(i + run) % rest.length]!)];
      for (const target of order) {
        collectGarbage();
        const meter = new CpuMeter({ server: target.pid, bench: process.pid });
        const result = await target.load(amount);
        const ok = result.statuses['200'] ?? 0;
        const cpu = meter.perUnit(Math.max(1, ok));
        const s = samples.get(target.name)!;
        s.perSecond.push((ok / result.requests) * result.perSecond);
        s.cpu.push(cpu.server!);
        s.bench.push(cpu.bench!);
        opts.log(
          `  peer run ${run + 1}, ${target.name}: ${s.perSecond.at(-1)!.toFixed(2)} img/s ${JSON.stringify(result.statuses)}, CPU ms per image ${cpu.server!.toFixed(0)} (bench ${cpu.bench!.toFixed(0)})`,
        );
      }
      const last = (name: string) => samples.get(name)!.perSecond.at(-1)!;
      pairedRatios.push(last(OUR_VARIANTS[0]![0]) / last('ipx'));
    }
    const ipxSizes: string[] = [];
    const variants: PeerVariant[] = [];
    for (const target of targets) {
      let bytes = 0;
      const scores: number[] = [];
      const mismatches: string[] = [];
      for (let i = 0; i < images.length; i += 1) {
        const output = await target.output(i);
        const { width, height } = await sharp(output).metadata();
        if (target.name === 'ipx') ipxSizes.push(`${width}x${height}`);
        else if (ipxSizes[i] !== `${width}x${height}`) mismatches.push(`${images[i]!.name}: ${width}x${height} vs ipx ${ipxSizes[i]}`);
        bytes += output.length;
        scores.push(await quality(images[i]!.data, output));
      }
      const s = samples.get(target.name)!;
      variants.push({
        name: target.name,
        perSecond: median(s.perSecond),
        cpuMsPerImage: median(s.cpu),
        benchCpuMsPerImage: median(s.bench),
        meanKb: bytes / images.length / 1024,
        ssim: scores.reduce((a, b) => a + b, 0) / scores.length,
        sizeMismatches: mismatches,
      });
      opts.log(
        `  peer ${target.name}: ${variants.at(-1)!.meanKb.toFixed(0)} KB, SSIM ${variants.at(-1)!.ssim.toFixed(4)}, sizes ${mismatches.length === 0 ? 'same as ipx' : mismatches.join('; ')}`,
      );
    }
    return {
      images: images.length,
      megapixels: images.reduce((s, i) => s + i.width * i.height, 0) / images.length / 1e6,
      runs: opts.runs,
      variants,
      pairedRatios,
      defaultName: OUR_VARIANTS[0]![0],
      equalName: OUR_VARIANTS.at(-1)![0],
      oriented,
    };
  } finally {
    ipx.child.kill('SIGTERM');
    for (let index = OUR_VARIANTS.length - 1; index >= 0; index -= 1) await world.stop(`optimizer-peer-${index}`);
  }
}
