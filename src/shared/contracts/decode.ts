/**
 * Decoding against a contract: a value (or a JSON body) goes through a zod schema and comes out as
 * the contract's type, or as one line that names each field at fault, what it must be and what it
 * was. That line is what the worker puts in a dead letter's header and what the logs show, so it
 * must let a person find the bad field without the message at hand.
 */
import type { z } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Longest excerpt of a received string quoted in a reason: enough to recognise it, not to flood a header. */
const EXCERPT_CHARS = 40;

export function decodeValue<S extends z.ZodType>(schema: S, value: unknown): Decoded<z.output<S>> {
  const result = decodeWithIssues(schema, value);
  return result.ok ? result : { ok: false, reason: result.issues.map((issue) => `${issue.field} ${issue.message} (received ${issue.received})`).join('; ') };
}

/** One field at fault: where (`a.b.0`, or `body`), what it must be, and an excerpt of what it was. */
export interface DecodeIssue {
  path: readonly PropertyKey[];
  field: string;
  message: string;
  received: string;
}

/** As decodeValue, with each issue apart, for callers that word the reason their own way (a config file's errors). */
export function decodeWithIssues<S extends z.ZodType>(schema: S, value: unknown): { ok: true; value: z.output<S> } | { ok: false; issues: DecodeIssue[] } {
  const result = schema.safeParse(value, { reportInput: true, error: expectation });
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => ({
      path: issue.path,
      field: issue.path.length > 0 ? issue.path.map(String).join('.') : 'body',
      message: issue.message,
      received: received(valueAt(value, issue.path)),
    })),
  };
}

/** How one contract travels as bytes: JSON out, and back in through its schema. */
export interface JsonCodec<T> {
  encode: (value: T) => Buffer;
  decode: (body: Uint8Array) => Decoded<T>;
}

export function jsonCodec<S extends z.ZodType>(schema: S, maxBytes: number): JsonCodec<z.output<S>> {
  return {
    encode: (value) => Buffer.from(JSON.stringify(value)),
    decode: (body) => decodeJson(schema, body, maxBytes),
  };
}

/** A UTF-8 JSON body, refused before parsing when it is larger than `maxBytes`. */
function decodeJson<S extends z.ZodType>(schema: S, body: Uint8Array, maxBytes: number): Decoded<z.output<S>> {
  if (body.byteLength > maxBytes) return { ok: false, reason: `body of ${body.byteLength} bytes exceeds ${maxBytes}` };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  return decodeValue(schema, value);
}

/**
 * The default wording of what a field must be, for the issues a schema does not word itself
 * (a schema's own `error` takes precedence over this per-parse map). `undefined`: zod's wording.
 */
function expectation(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${withArticle(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return `must be ${withArticle(issue.format)}`;
    default:
      return undefined;
  }
}

const NAMES: Record<string, string> = { int: 'integer', datetime: 'ISO date-time', record: 'map of names to values' };

function withArticle(name: string): string {
  const noun = NAMES[name] ?? name;
  return `${/^[aeiouAEIOU]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** The value at `path` in the decoded input: an object-level check reports the whole object as its input. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function received(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > EXCERPT_CHARS ? `${value.slice(0, EXCERPT_CHARS)}…` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only primitives are left here
  return String(value);
}
