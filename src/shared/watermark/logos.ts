/**
 * The operator's registered logos: name → bytes and their SHA-256. A preset or an upload names a
 * logo; the hash goes into the result's identity, so replacing a logo file makes new results.
 */
import { createHash } from 'node:crypto';

export interface RegisteredLogo {
  readonly bytes: Buffer;
  readonly sha256: string;
}

export type LogoRegistry = ReadonlyMap<string, RegisteredLogo>;

export function registeredLogo(bytes: Buffer): RegisteredLogo {
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
