/**
 * One signed S3 request: SigV4 by `aws4`, sent by Node's http client, answered as status, headers
 * and bytes. This is all of the S3 protocol the object store uses (seven path-style calls); the
 * minio SDK we used for them made loading the api 15 MB larger.
 */
import aws4 from 'aws4';
import { EntityDecoder, XML } from '@nodable/entities';
import { XMLParser } from 'fast-xml-parser';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { sha256Hex } from './content-address.js';

export interface S3Endpoint {
  /** `http(s)://host:port` of the S3 server; buckets are addressed path-style. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface S3Call {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  bucket: string;
  /** The object's key, or none for a call on the bucket itself. */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  /** SHA-256 (hex) of `body` when the caller has it already; computed otherwise, over plain HTTP only. */
  payloadSha256?: string;
}

export interface S3Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer outside 2xx; `code` is S3's error code (`NoSuchKey`, …) when the body had one (a HEAD has none). */
export class S3ResponseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`S3 answered ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'S3ResponseError';
  }
}

/** SHA-256 of an empty payload, as SigV4 signs a call without a body. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding of one path segment, as SigV4's canonical request has it (`!'()*` too). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function objectPath(bucket: string, key?: string): string {
  const bucketPath = `/${encodeSegment(bucket)}`;
  return key === undefined ? bucketPath : `${bucketPath}/${key.split('/').map(encodeSegment).join('/')}`;
}

// XML's five named entities and numeric references (&#x27;): s3rver and MinIO escape a key's quote that way.
const xml = new XMLParser({
  parseTagValue: false,
  entityDecoder: new EntityDecoder({ namedEntities: XML, numericAllowed: true }),
  isArray: (name) => name === 'Contents',
});

/** A parsed element's child, or undefined when there is no such element. */
function child(node: unknown, name: string): unknown {
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[name] : undefined;
}

/** A child's text; the parser is lenient with a cut document, so an empty one counts as absent. */
function text(node: unknown, name: string): string | undefined {
  const value = child(node, name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** S3's `<Error><Code>…</Code><Message>…</Message></Error>`, or nothing for a body that is not one. */
export function parseS3Error(body: Buffer): { code?: string; message?: string } {
  if (body.length === 0) return {};
  try {
    const error = child(xml.parse(body.toString('utf8')), 'Error');
    return { code: text(error, 'Code'), message: text(error, 'Message') };
  } catch {
    return {};
  }
}

/** The keys of a ListObjectsV2 answer, in its order. */
export function parseListedKeys(body: Buffer): string[] {
  const result = child(xml.parse(body.toString('utf8')), 'ListBucketResult');
  if (result === undefined) throw new Error('the listing is not a ListBucketResult');
  const contents = child(result, 'Contents');
  return Array.isArray(contents) ? contents.flatMap((entry) => text(entry, 'Key') ?? []) : [];
}

/** `x-amz-meta-<name>` headers as `<name>`, with `content-type`, as the object's metadata. */
export function objectMetadata(headers: S3Answer['headers']): Record<string, string | undefined> {
  const metadata: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = Array.isArray(value) ? value.join(',') : value;
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = text;
    else if (name === 'content-type') metadata[name] = text;
  }
  return metadata;
}

export type SigningKeys = Pick<S3Endpoint, 'accessKey' | 'secretKey' | 'region'>;

export interface SignableRequest {
  method: string;
  host: string;
  /** The encoded path, with its query. */
  path: string;
  /** `X-Amz-Content-Sha256` included; an `X-Amz-Date` fixes the time (as AWS's published examples do). */
  headers: Record<string, string>;
}

/** SigV4 of one S3 request, by aws4: the path as sent (its query in SigV4's order) and the headers with `Authorization`. */
export function signS3(request: SignableRequest, keys: SigningKeys): { path: string; headers: Record<string, string> } {
  const signed = aws4.sign(
    { ...request, headers: { ...request.headers }, service: 's3', region: keys.region },
    { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey },
  );
  return { path: signed.path ?? request.path, headers: signed.headers as Record<string, string> };
}

export class S3Client {
  private readonly origin: URL;
  private readonly keys: SigningKeys;
  /** Over TLS the payload is protected by TLS and left unsigned; over plain HTTP SigV4 signs its SHA-256. */
  private readonly tls: boolean;
  private readonly request: typeof httpRequest;
  // Node's agent, not undici's: undici closes the connection after every HEAD, and a lookup is a
  // HEAD. An idle socket is dropped after 5 s, or 1 s before the server's `Keep-Alive: timeout=N`:
  // Node applies that hint only to an agent with a timeout, and a socket reused as the server closes
  // it fails the request with ECONNRESET.
  private readonly agent: HttpAgent;

  constructor(options: S3Endpoint) {
    this.origin = new URL(options.endpoint);
    this.keys = { accessKey: options.accessKey, secretKey: options.secretKey, region: options.region };
    this.tls = this.origin.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: 64, timeout: 5_000 };
    this.agent = this.tls ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.request = this.tls ? httpsRequest : httpRequest;
  }

  private payloadHash(call: S3Call): string {
    if (!call.body) return EMPTY_SHA256;
    return this.tls ? 'UNSIGNED-PAYLOAD' : (call.payloadSha256 ?? sha256Hex(call.body));
  }

  /** Sends the call, and reads the whole answer; rejects only when no answer came (or on `signal`). */
  async send(call: S3Call, signal: AbortSignal): Promise<S3Answer> {
    const query = call.query ? `?${new URLSearchParams(call.query).toString()}` : '';
    const headers: Record<string, string> = { ...call.headers, 'X-Amz-Content-Sha256': this.payloadHash(call) };
    if (call.body) headers['Content-Length'] = String(call.body.length);
    const signed = signS3({ method: call.method, host: this.origin.host, path: objectPath(call.bucket, call.key) + query, headers }, this.keys);
    return new Promise<S3Answer>((resolve, reject) => {
      const req = this.request(new URL(signed.path, this.origin), { method: call.method, headers: signed.headers, agent: this.agent, signal }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(call.body);
    });
  }

  /** `send`, with an answer outside 2xx as an `S3ResponseError`. */
  async ok(call: S3Call, signal: AbortSignal): Promise<S3Answer> {
    const answer = await this.send(call, signal);
    if (answer.status >= 200 && answer.status < 300) return answer;
    const { code, message } = parseS3Error(answer.body);
    throw new S3ResponseError(answer.status, code, message ?? '');
  }
}
