/**
 * The object store (MinIO in the chart, s3rver locally, any S3 elsewhere): the system of record
 * for originals and results. S3-generic on purpose: only plain object calls, path-style addressing.
 */
import { watermarkedKey } from './content-address.js';
import { RESULT_EXTENSIONS } from './image-type.js';
import { errorMessage } from './errors.js';
import { objectMetadata, parseListedKeys, S3Client, S3ResponseError, type S3Call } from './s3-request.js';

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

/** A 404 for the object itself; a missing bucket (`NoSuchBucket`) is the store being unusable, not the object gone. */
function isNotFound(err: unknown): boolean {
  return err instanceof S3ResponseError && err.status === 404 && (err.code === undefined || NOT_FOUND_CODES.has(err.code));
}

export interface PutOptions {
  /** `x-amz-meta-*` headers kept with the object. */
  metadata?: Record<string, string>;
  /** The SHA-256 (hex) of `data` when the caller already has it: an original's content address is exactly that. */
  sha256?: string;
}

export class ObjectStore {
  private readonly s3: S3Client;
  readonly bucket: string;
  private readonly region: string;
  private readonly timeoutMs: number;

  constructor(options: ObjectStoreOptions) {
    this.s3 = new S3Client(options);
    this.bucket = options.bucket;
    this.region = options.region;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** One call within the store's deadline: a hung store fails the call instead of holding it. */
  private async call(operation: string, call: Omit<S3Call, 'bucket'>) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`${operation} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      return await this.s3.ok({ ...call, bucket: this.bucket }, controller.signal);
    } catch (err) {
      // Node's http rejects an aborted request with a bare AbortError: say which deadline it was.
      throw controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Creates the bucket, in the store's region, unless it exists; says which it found. */
  async ensureBucket(): Promise<'exists' | 'created'> {
    if (await this.bucketExists()) return 'exists';
    // us-east-1 is S3's default location, and the one location a CreateBucketConfiguration may not name.
    const body =
      this.region === 'us-east-1'
        ? undefined
        : Buffer.from(`<CreateBucketConfiguration><LocationConstraint>${this.region}</LocationConstraint></CreateBucketConfiguration>`);
    await this.call('create bucket', { method: 'PUT', body }).catch(async (err: unknown) => {
      // Another replica may have created it between the two calls.
      if (!(await this.bucketExists())) throw err;
    });
    return 'created';
  }

  private async bucketExists(): Promise<boolean> {
    try {
      await this.call('head bucket', { method: 'HEAD' });
      return true;
    } catch (err) {
      if (err instanceof S3ResponseError && err.status === 404) return false;
      throw err;
    }
  }

  async ping(): Promise<boolean> {
    return this.bucketExists().catch(() => false);
  }

  /**
   * One PUT of `data` as it is, uncopied. Over plain HTTP SigV4 signs the payload's SHA-256: it is
   * computed once, or not at all when the caller has it (an original's content address is exactly that).
   */
  async put(key: string, data: Buffer, contentType: string, options: PutOptions = {}): Promise<void> {
    try {
      await this.call(`put ${key}`, {
        method: 'PUT',
        key,
        body: data,
        payloadSha256: options.sha256,
        headers: { 'Content-Type': contentType, ...options.metadata },
      });
    } catch (err) {
      throw new ObjectStoreUnavailableError(`put ${key}`, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return (await this.call(`get ${key}`, { method: 'GET', key })).body;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw new ObjectStoreUnavailableError(`get ${key}`, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.findFirst([key])) !== undefined;
  }

  async remove(key: string): Promise<void> {
    try {
      await this.call(`remove ${key}`, { method: 'DELETE', key });
    } catch (err) {
      if (!isNotFound(err)) throw new ObjectStoreUnavailableError(`remove ${key}`, err);
    }
  }

  /** Keys under a prefix (at most `limit`). */
  async list(prefix: string, limit = 10): Promise<string[]> {
    try {
      const answer = await this.call(`list ${prefix}`, { method: 'GET', query: { 'list-type': '2', prefix, 'max-keys': String(limit) } });
      return parseListedKeys(answer.body);
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
          const answer = await this.call(`stat ${key}`, { method: 'HEAD', key });
          return { key, metaData: objectMetadata(answer.headers) };
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
