/**
 * The object store (MinIO in the chart, s3rver locally, any S3 elsewhere): the system of record
 * for originals and results. S3-generic on purpose: only plain object calls, path-style addressing.
 */
import { Client } from 'minio';
import { Agent } from 'node:http';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { sha256Hex, watermarkedKey } from './content-address.js';
import { RESULT_EXTENSIONS } from './image-type.js';
import { errorMessage } from './errors.js';

export interface ObjectStoreOptions {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  /** Per-request socket timeout, so a hung store fails a request instead of holding it. */
  timeoutMs?: number;
}

/** The object does not exist: permanent for whoever asked for it. */
export class ObjectNotFoundError extends Error {
  constructor(key: string) {
    super(`object ${key} not found`);
    this.name = 'ObjectNotFoundError';
  }
}

/** The store could not answer: transient, try again later. */
export class ObjectStoreUnavailableError extends Error {
  constructor(operation: string, cause: unknown) {
    super(`object store unavailable during ${operation}: ${errorMessage(cause)}`);
    this.name = 'ObjectStoreUnavailableError';
  }
}

export interface StoredResult {
  key: string;
  data: Buffer;
  contentType: string;
}

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && NOT_FOUND_CODES.has(String(err.code));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface PutOptions {
  /** `x-amz-meta-*` headers kept with the object. */
  metadata?: Record<string, string>;
  /** The SHA-256 (hex) of `data` when the caller already has it: an original's content address is exactly that. */
  sha256?: string;
}

export class ObjectStore {
  private readonly client: Client;
  readonly bucket: string;
  private readonly region: string;
  private readonly signsPayload: boolean;
  private readonly timeoutMs: number;

  constructor(options: ObjectStoreOptions) {
    const url = new URL(options.endpoint);
    const useSSL = url.protocol === 'https:';
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      pathStyle: true,
      // An idle socket is dropped after 5 s, or 1 s before the server's Keep-Alive: timeout=N: Node
      // applies that hint only to an agent with a timeout, and a socket reused as the server closes it
      // fails the request with ECONNRESET. (Node's global agent, used over TLS, has the same 5 s.)
      ...(useSSL ? {} : { transportAgent: new Agent({ keepAlive: true, maxSockets: 64, timeout: 5_000 }) }),
    });
    this.bucket = options.bucket;
    this.region = options.region;
    // What the client does: SigV4 covers the payload's SHA-256 over plain HTTP; TLS protects it otherwise.
    this.signsPayload = !useSSL;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The S3 client has no request deadline of its own; a hung store must fail the call, not hold it. */
  private deadline<T>(operation: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${operation} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }

  async ensureBucket(region: string): Promise<void> {
    const exists = await this.client.bucketExists(this.bucket);
    if (!exists) {
      await this.client.makeBucket(this.bucket, region).catch(async (err: unknown) => {
        // Another replica may have created it between the two calls.
        if (!(await this.client.bucketExists(this.bucket))) throw err;
      });
    }
  }

  async ping(): Promise<boolean> {
    try {
      return await this.deadline('ping', this.client.bucketExists(this.bucket));
    } catch {
      return false;
    }
  }

  /**
   * One PUT of `data` as it is. The client's putObject copies the buffer and hashes it twice (MD5
   * and SHA-256) before sending: 13 ms of CPU for a 4.3 MB original, 2.7 ms this way. Here
   * the body goes out uncopied, and the SHA-256 that SigV4 signs over plain HTTP is computed once,
   * or not at all when the caller has it.
   */
  async put(key: string, data: Buffer, contentType: string, options: PutOptions = {}): Promise<void> {
    const payloadHash = this.signsPayload ? (options.sha256 ?? sha256Hex(data)) : '';
    const request = {
      method: 'PUT',
      bucketName: this.bucket,
      objectName: key,
      headers: { 'Content-Type': contentType, 'Content-Length': data.length, ...options.metadata },
    };
    try {
      await this.deadline(
        `put ${key}`,
        this.client.makeRequestStreamAsync(request, data, payloadHash, [200], this.region).then((response) => {
          response.resume();
          return finished(response);
        }),
      );
    } catch (err) {
      throw new ObjectStoreUnavailableError(`put ${key}`, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await this.deadline(`get ${key}`, this.client.getObject(this.bucket, key).then(readAll));
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw new ObjectStoreUnavailableError(`get ${key}`, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.deadline(`stat ${key}`, this.client.statObject(this.bucket, key));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new ObjectStoreUnavailableError(`stat ${key}`, err);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.deadline(`remove ${key}`, this.client.removeObject(this.bucket, key));
    } catch (err) {
      if (!isNotFound(err)) throw new ObjectStoreUnavailableError(`remove ${key}`, err);
    }
  }

  /** Keys under a prefix (at most `limit`). */
  async list(prefix: string, limit = 10): Promise<string[]> {
    try {
      const page = await this.deadline(`list ${prefix}`, this.client.listObjectsV2Query(this.bucket, prefix, '', '', limit, ''));
      return page.objects.map((o) => o.name).filter((name): name is string => typeof name === 'string');
    } catch (err) {
      throw new ObjectStoreUnavailableError(`list ${prefix}`, err);
    }
  }

  /** `originalHash` is kept as metadata: which original a result was made from. */
  async putResult(resultId: string, ext: string, data: Buffer, contentType: string, originalHash: string): Promise<string> {
    const key = watermarkedKey(resultId, ext);
    await this.put(key, data, contentType, { metadata: { 'x-amz-meta-original': originalHash } });
    return key;
  }

  /**
   * The first of `keys` that exists, with its metadata. HEADs of the few candidate keys, in
   * parallel, rather than a prefix listing: listing is the costly call on every S3 server.
   */
  async findFirst(keys: readonly string[]): Promise<{ key: string; metaData: Record<string, string | undefined> } | undefined> {
    const stats = await Promise.all(
      keys.map(async (key) => {
        try {
          const stat = await this.deadline(`stat ${key}`, this.client.statObject(this.bucket, key));
          return { key, metaData: stat.metaData };
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw new ObjectStoreUnavailableError(`stat ${key}`, err);
        }
      }),
    );
    return stats.find((s) => s !== undefined);
  }

  /** The finished result `resultId`, whatever its output format, or undefined. */
  async findResult(resultId: string): Promise<StoredResult | undefined> {
    const found = await this.findFirst(RESULT_EXTENSIONS.map((ext) => watermarkedKey(resultId, ext)));
    if (!found) return undefined;
    const { key, metaData } = found;
    try {
      return {
        key,
        data: await this.get(key),
        contentType: metaData['content-type'] ?? 'application/octet-stream',
      };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined; // removed between the HEAD and the GET
      throw err;
    }
  }
}
