/** Reads the keys the operator configured: API_KEYS_FILE (YAML or JSON) and API_KEYS, together. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, type ApiConfig } from '../../shared/config.js';
import { errorMessage } from '../../shared/errors.js';
import { checkUnique, keysFromDocument, keysFromList, type ApiKey } from './api-keys.js';

/** No key configured: the api is open (the quick start), and says so at start. */
export function loadApiKeys(config: Pick<ApiConfig, 'API_KEYS' | 'API_KEYS_FILE'>): ApiKey[] {
  const fromFile = config.API_KEYS_FILE === '' ? [] : keysFromDocument(readDocument(config.API_KEYS_FILE), `API_KEYS_FILE (${config.API_KEYS_FILE})`);
  return checkUnique([...fromFile, ...keysFromList(config.API_KEYS)], 'API_KEYS_FILE and API_KEYS');
}

function readDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`API_KEYS_FILE: cannot read ${path}: ${errorMessage(err)}`]);
  }
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    return parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([`API_KEYS_FILE (${path}): not YAML or JSON: ${errorMessage(err)}`]);
  }
}
