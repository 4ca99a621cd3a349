/**
 * From an upload request to its effective settings: the options given as query parameters and as
 * multipart text fields (one set of names), resolved against the presets, the key's presets
 * checked. Every refusal is a problem, raised before anything is stored.
 */
import { mayUsePreset, type ApiKey } from './access/api-keys.js';
import { presetRefused } from './access/require-key.js';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { HttpProblem } from '../shared/http/problem.js';
import { describeOptionIssues, resolveOptions, type ResolvedOptions } from '../shared/watermark/options.js';
import type { PresetCatalog } from '../shared/watermark/presets.js';

export type UploadOptions = Extract<ResolvedOptions, { ok: true }>;

/** The query's name/value pairs as sent, flat (express's own parser nests `a[b]=c` into objects). */
export function queryPairs(originalUrl: string): [string, string][] {
  return [...new URL(originalUrl, 'http://api.invalid').searchParams];
}

/**
 * Whether a key may use the preset the query names, asked before the body is read, so a refused
 * upload stores nothing and costs no body. A preset named in the body is checked once it is read.
 */
export function presetRefusedEarly(query: readonly (readonly [string, string])[], key: ApiKey | undefined): HttpProblem | undefined {
  const named = query.filter(([name]) => name === 'preset');
  // Named twice: the option parser reports it once the body is read.
  const preset = named.length === 1 ? named[0]?.[1] : undefined;
  return key && preset !== undefined && !mayUsePreset(key, preset) ? presetRefused(key, preset) : undefined;
}

export function uploadOptions(
  given: readonly (readonly [string, string])[],
  catalog: PresetCatalog,
  accept: string | undefined,
  key: ApiKey | undefined,
): UploadOptions {
  const resolved = resolveOptions(given, catalog, accept);
  if (!resolved.ok) throw new HttpProblem(PROBLEMS.invalidOptions, describeOptionIssues(resolved.issues), { extensions: { invalidOptions: resolved.issues } });
  if (key && !mayUsePreset(key, resolved.preset.name)) throw presetRefused(key, resolved.preset.name);
  return resolved;
}
