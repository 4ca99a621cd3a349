/**
 * Reads what the presets are made of: PRESETS_FILE (YAML, or JSON), the logo files it registers
 * (paths relative to it) and WATERMARK_LOGO_PATH. Every service calls it at start, so a bad file
 * stops the process with a ConfigError that names the preset, the field, what was expected and
 * what was received.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, type WatermarkConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { SUPPORTED_FORMATS_WORDING, supportedImageType } from '../image-type.js';
import { registeredLogo, type RegisteredLogo } from './logos.js';
import { allowFromEnv, buildCatalog, ENV_LOGO, PresetsError, settingsFromEnv, type PresetCatalog } from './presets.js';

/** A deeper check of a logo's bytes than their type, e.g. the optimizer decoding them; throws when they cannot be drawn. */
export type LogoCheck = (bytes: Buffer) => Promise<unknown>;

export async function loadPresetCatalog(config: WatermarkConfig, checkLogo?: LogoCheck): Promise<PresetCatalog> {
  const logos = new Map<string, RegisteredLogo>();
  if (config.WATERMARK_LOGO_PATH !== '') logos.set(ENV_LOGO, await readLogo(config.WATERMARK_LOGO_PATH, 'WATERMARK_LOGO_PATH', checkLogo));
  const envDefault = settingsFromEnv(config, logos);
  if (config.PRESETS_FILE === '') return buildCatalog(envDefault, undefined, logos, allowFromEnv(config, logos));

  const source = `PRESETS_FILE (${config.PRESETS_FILE})`;
  const document = await readDocument(config.PRESETS_FILE, source);
  // The logos first: the presets refer to them by name.
  const listed = typeof document === 'object' && document !== null && 'logos' in document ? document.logos : undefined;
  if (typeof listed === 'object' && listed !== null) {
    for (const [name, path] of Object.entries(listed)) {
      if (typeof path !== 'string' || logos.has(name)) continue; // the schema reports a bad entry
      logos.set(name, await readLogo(resolve(dirname(config.PRESETS_FILE), path), `${source}: logo "${name}"`, checkLogo));
    }
  }
  try {
    // The file's logos are registered by now: `default` may let uploads pick them.
    return buildCatalog(envDefault, document, logos, allowFromEnv(config, logos));
  } catch (err) {
    if (err instanceof PresetsError) throw new ConfigError(err.problems.map((problem) => `${source}: ${problem}`));
    throw err;
  }
}

async function readDocument(path: string, source: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${source}: cannot read the file: ${errorMessage(err)}`]);
  }
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    return parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([`${source}: not YAML or JSON: ${errorMessage(err)}`]);
  }
}

async function readLogo(path: string, source: string, checkLogo: LogoCheck | undefined): Promise<RegisteredLogo> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ConfigError([`${source}: cannot read the logo file (${errorMessage(err)}) (received ${JSON.stringify(path)})`]);
  }
  if (supportedImageType(bytes) === undefined) {
    throw new ConfigError([`${source}: expected a ${SUPPORTED_FORMATS_WORDING} image, the file is not one (received ${JSON.stringify(path)})`]);
  }
  try {
    await checkLogo?.(bytes);
  } catch (err) {
    const reason = errorMessage(err).split('\n')[0];
    throw new ConfigError([`${source}: the logo image cannot be decoded (${reason}) (received ${JSON.stringify(path)})`]);
  }
  return registeredLogo(bytes);
}
