/**
 * API keys: the operator's list, parsed and checked once at start, and the constant-time lookup of
 * a presented secret. Only SHA-256 digests are kept in memory, so a key file may hold digests alone
 * and a heap dump holds no secret. Pure: reading the file is the caller's job.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../../shared/config.js';

/** A key as the api holds it: never its secret. */
export interface ApiKey {
  readonly id: string;
  readonly digest: Buffer;
  /** Presets this key may use; undefined means every preset. */
  readonly presets?: readonly string[];
}

/** A bad key stops the api at start, as a bad variable does (exit 78), naming where and what. */
function keysError(source: string, problems: string[]): ConfigError {
  return new ConfigError(problems.map((problem) => `${source}: ${problem}`));
}

/** Key ids reach logs and metric labels: short tokens only. */
const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a token of 1 to 64 letters, digits, ".", "_" or "-"');
/** RFC 6750's b64token: what a Bearer credential may contain. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const secret = z.string().min(16, 'a secret of at least 16 characters').regex(BEARER_TOKEN, 'Bearer token characters (letters, digits, -._~+/ and trailing =)');

const keyEntry = z
  .strictObject({
    id: keyId,
    secret: secret.optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, '64 lowercase hexadecimal characters')
      .optional(),
    presets: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine((k) => (k.secret === undefined) !== (k.sha256 === undefined), { error: 'exactly one of "secret" or "sha256"' });

/** The file's shape: a list of keys, or `{ keys: [...] }`. */
const keysFile = z.union([z.array(keyEntry), z.strictObject({ keys: z.array(keyEntry) })]).transform((v) => (Array.isArray(v) ? v : v.keys));

/** Where and what, never the value received: it may be a secret. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
  return `${path === '' ? 'the document' : `keys${path}`}: expected ${issue.message}`;
}

export function digestOf(secretText: string): Buffer {
  return createHash('sha256').update(secretText, 'utf8').digest();
}

/** The keys of a parsed YAML/JSON document (API_KEYS_FILE). */
export function keysFromDocument(document: unknown, source: string): ApiKey[] {
  const parsed = keysFile.safeParse(document);
  if (!parsed.success) throw keysError(source, parsed.error.issues.map(describeIssue));
  const keys = parsed.data.map((entry) => ({
    id: entry.id,
    digest: entry.sha256 !== undefined ? Buffer.from(entry.sha256, 'hex') : digestOf(entry.secret ?? ''),
    ...(entry.presets ? { presets: entry.presets } : {}),
  }));
  return keys;
}

/**
 * API_KEYS, for local use: comma-separated `secret` or `id:secret` items. Any non-empty Bearer
 * token is accepted here (`API_KEYS=k1` is fine on a laptop); a key without an id is named after
 * its digest, which is stable and says nothing about the secret.
 */
export function keysFromList(list: string, source = 'API_KEYS'): ApiKey[] {
  const problems: string[] = [];
  const keys: ApiKey[] = [];
  list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .forEach((item, index) => {
      const colon = item.indexOf(':');
      const id = colon > 0 ? item.slice(0, colon) : undefined;
      const secretText = colon > 0 ? item.slice(colon + 1) : item;
      if (id !== undefined && !keyId.safeParse(id).success)
        problems.push(`item ${index + 1}: the id must be a token of 1 to 64 letters, digits, ".", "_" or "-"`);
      else if (!BEARER_TOKEN.test(secretText))
        problems.push(`item ${index + 1}: the secret must be Bearer token characters (letters, digits, -._~+/ and trailing =)`);
      else {
        const digest = digestOf(secretText);
        keys.push({ id: id ?? `key-${digest.toString('hex').slice(0, 8)}`, digest });
      }
    });
  if (problems.length > 0) throw keysError(source, problems);
  return keys;
}

/** Every key of every source, once: an id or a secret used twice is an error, not a silent pick. */
export function checkUnique(keys: ApiKey[], source: string): ApiKey[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const digests = new Set<string>();
  for (const key of keys) {
    if (ids.has(key.id)) problems.push(`the id "${key.id}" is used twice`);
    const digest = key.digest.toString('hex');
    if (digests.has(digest)) problems.push(`the key "${key.id}" has the same secret as another key`);
    ids.add(key.id);
    digests.add(digest);
  }
  if (problems.length > 0) throw keysError(source, problems);
  return keys;
}

/**
 * The key a presented secret belongs to. Every key is compared, each in constant time on equal
 * length digests, so neither the answer's timing nor the key's position tells anything.
 */
export function findKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = digestOf(presented);
  let found: ApiKey | undefined;
  for (const key of keys) if (timingSafeEqual(key.digest, digest) && found === undefined) found = key;
  return found;
}

export function mayUsePreset(key: ApiKey, preset: string): boolean {
  return key.presets === undefined || key.presets.includes(preset);
}

/** RFC 6750 section 2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1] !== undefined && BEARER_TOKEN.test(match[1]) ? match[1] : undefined;
}
