import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { objectMetadata, objectPath, parseListedKeys, parseS3Error, signS3 } from '../../../src/shared/s3-request.js';

describe('objectPath', () => {
  it('addresses a bucket and a key path-style, each segment encoded as SigV4 signs it', () => {
    expect(objectPath('watermark')).toBe('/watermark');
    expect(objectPath('watermark', `original/${'a'.repeat(64)}.jpg`)).toBe(`/watermark/original/${'a'.repeat(64)}.jpg`);
    expect(objectPath('b', "dir/it's (1) *é?#.png")).toBe('/b/dir/it%27s%20%281%29%20%2A%C3%A9%3F%23.png');
  });
});

describe('parseS3Error', () => {
  it('reads the code and message of an S3 error document', () => {
    const body = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>',
    );
    expect(parseS3Error(body)).toEqual({ code: 'NoSuchKey', message: 'The specified key does not exist.' });
  });

  it('gives nothing for an empty, foreign or broken body, rather than throwing', () => {
    expect(parseS3Error(Buffer.alloc(0))).toEqual({});
    expect(parseS3Error(Buffer.from('<html><body>Bad gateway</body></html>'))).toEqual({});
    expect(parseS3Error(Buffer.from('<Error><Code>'))).toEqual({});
    expect(parseS3Error(Buffer.from('not xml at all'))).toEqual({});
  });
});

describe('parseListedKeys', () => {
  const listing = (contents: string) =>
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p</Prefix><KeyCount>0</KeyCount>${contents}</ListBucketResult>`,
    );

  it('lists every key in order, entities decoded, numbers kept as text', () => {
    const body = listing(
      '<Contents><Key>original/a.jpg</Key><Size>3</Size></Contents><Contents><Key>a&amp;b&#x27;&#39;</Key></Contents><Contents><Key>0012</Key></Contents>',
    );
    expect(parseListedKeys(body)).toEqual(['original/a.jpg', "a&b''", '0012']);
  });

  it('lists one key as one, and none as none', () => {
    expect(parseListedKeys(listing('<Contents><Key>only</Key></Contents>'))).toEqual(['only']);
    expect(parseListedKeys(listing(''))).toEqual([]);
  });

  it('refuses a body that is not a listing', () => {
    expect(() => parseListedKeys(Buffer.from('<Error><Code>AccessDenied</Code></Error>'))).toThrow(/not a ListBucketResult/);
  });
});

describe('objectMetadata', () => {
  it('keeps the content type and the x-amz-meta- headers without their prefix', () => {
    expect(
      objectMetadata({ 'content-type': 'image/webp', 'x-amz-meta-original': 'f00', etag: '"x"', 'content-length': '3', 'x-amz-meta-tags': ['a', 'b'] }),
    ).toEqual({ 'content-type': 'image/webp', original: 'f00', tags: 'a,b' });
  });
});

// s3rver does not check SigV4, so the signing is checked here against the examples AWS publishes in
// "Signature Calculations for the Authorization Header" (S3 API reference): MinIO and S3 check it.
describe('signS3, on the examples of the S3 documentation', () => {
  const keys = { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
  const host = 'examplebucket.s3.amazonaws.com';
  const empty = createHash('sha256').update('').digest('hex');
  const signature = (authorization: string | undefined) => /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];

  it('PUT Object, with a payload hash, a Date and an x-amz header', () => {
    const payload = createHash('sha256').update('Welcome to Amazon S3.').digest('hex');
    const signed = signS3(
      {
        method: 'PUT',
        host,
        path: '/test$file.text',
        headers: {
          Date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'X-Amz-Content-Sha256': payload,
          'X-Amz-Date': '20130524T000000Z',
        },
      },
      keys,
    );
    expect(signed.headers.Authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/us-east-1\/s3\/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, /,
    );
    expect(signature(signed.headers.Authorization)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('GET Bucket (a listing), its query given out of order', () => {
    const signed = signS3(
      { method: 'GET', host, path: '/?prefix=J&max-keys=2', headers: { 'X-Amz-Content-Sha256': empty, 'X-Amz-Date': '20130524T000000Z' } },
      keys,
    );
    expect(signature(signed.headers.Authorization)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
    expect(signed.path).toBe('/?prefix=J&max-keys=2'); // sent as given: the server sorts the query as the signer did
  });

  it('GET Bucket lifecycle, a query with no value', () => {
    const signed = signS3({ method: 'GET', host, path: '/?lifecycle', headers: { 'X-Amz-Content-Sha256': empty, 'X-Amz-Date': '20130524T000000Z' } }, keys);
    expect(signature(signed.headers.Authorization)).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('signs with the current time when no date is given, and never changes the request it was given', () => {
    const headers = { 'X-Amz-Content-Sha256': empty };
    const signed = signS3({ method: 'HEAD', host: '127.0.0.1:9000', path: '/watermark', headers }, keys);
    expect(signed.headers['X-Amz-Date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(signed.headers.Host).toBe('127.0.0.1:9000');
    expect(headers).toEqual({ 'X-Amz-Content-Sha256': empty });
  });
});
