/**
 * Signed URLs for results: `/image/{hash}?expires=<unix seconds>&sig=<HMAC-SHA256, base64url>`, so
 * a result can be put in an `<img>` or handed to someone without the API key. The first signing
 * key signs; any of them verifies, so a key is rotated by putting the new one first and dropping
 * the old one once the URLs it signed have expired. Pure: the clock is an argument.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'absent' | 'valid' | 'expired' | 'forged';

/** What is signed: the method, the path and the expiry, one per line, so no field can bleed into the next. */
function signedText(hash: string, expires: number): string {
  return `GET\n/image/${hash}\n${expires}`;
}

function signature(key: string, hash: string, expires: number): Buffer {
  return createHmac('sha256', key).update(signedText(hash, expires)).digest();
}

/** The path and query of a URL that serves the result until `expires` (unix seconds). */
export function signedImagePath(hash: string, expires: number, keys: readonly string[]): string {
  const [signingKey] = keys;
  if (signingKey === undefined) throw new Error('no URL signing key');
  return `/image/${hash}?expires=${expires}&sig=${signature(signingKey, hash, expires).toString('base64url')}`;
}

const EXPIRES = /^[0-9]{1,12}$/;
/** 32 bytes of HMAC-SHA256, base64url without padding. */
const SIG = /^[A-Za-z0-9_-]{43}$/;

/**
 * Whether the query of a request for `/image/{hash}` signs it. `absent` when it carries neither
 * parameter (a key may still let it in); a malformed one is `forged`, never an exception.
 */
export function checkSignedUrl(hash: string, query: { expires?: unknown; sig?: unknown }, keys: readonly string[], nowSeconds: number): SignatureCheck {
  if (query.expires === undefined && query.sig === undefined) return 'absent';
  if (typeof query.expires !== 'string' || typeof query.sig !== 'string' || !EXPIRES.test(query.expires) || !SIG.test(query.sig)) return 'forged';
  const expires = Number(query.expires);
  const presented = Buffer.from(query.sig, 'base64url');
  let matches = false;
  // Every key is tried, each in constant time: neither timing nor position says which one signed.
  for (const key of keys) if (timingSafeEqual(signature(key, hash, expires), presented)) matches = true;
  if (!matches) return 'forged';
  return expires > nowSeconds ? 'valid' : 'expired';
}
