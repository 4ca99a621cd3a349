/**
 * The QueueScaler document of local mode (QUEUE_SCALER_FILE, YAML or JSON, the same shape as in
 * Kubernetes), read and parsed once: the local controller runs what this returns, and the stack
 * prints it. A file that cannot be read, or is no QueueScaler, is a ConfigError naming the file.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../shared/config.js';
import { isInvalidSpec, parseScaler, type InvalidSpec, type QueueScalerObject, type Scaler } from '../queue-scaler.js';
import { errorMessage } from '../../shared/errors.js';

export interface FileDefaults {
  /** The vhost of a spec that names none: locally the broker's own, that of RABBITMQ_URL. */
  vhost?: string;
}

/** Reads and parses a QueueScaler document: a Scaler, or an InvalidSpec naming each bad field. */
export function readQueueScalerFile(path: string, defaults: FileDefaults = {}): Scaler | InvalidSpec {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`QUEUE_SCALER_FILE: ${path}: ${errorMessage(err)}`]);
  }
  const object = doc as Partial<QueueScalerObject> | null;
  if (!object || typeof object !== 'object' || object.kind !== 'QueueScaler' || typeof object.metadata?.name !== 'string') {
    throw new ConfigError([`QUEUE_SCALER_FILE: ${path}: expected a QueueScaler document with kind: QueueScaler and metadata.name`]);
  }
  // A file's status, if any, is not the controller's: only metadata and spec are read.
  return parseScaler({ metadata: object.metadata, spec: withDefaults(object.spec, defaults) });
}

/** The Scaler, or, for a process that cannot start without one, its problems as a ConfigError naming the file. */
export function requireValid(path: string, scaler: Scaler | InvalidSpec): Scaler {
  if (isInvalidSpec(scaler)) throw new ConfigError(scaler.problems.map((p) => `QUEUE_SCALER_FILE: ${path}: ${p}`));
  return scaler;
}

function withDefaults(spec: unknown, defaults: FileDefaults): unknown {
  if (defaults.vhost === undefined || typeof spec !== 'object' || spec === null || 'vhost' in spec) return spec;
  return { ...spec, vhost: defaults.vhost };
}
