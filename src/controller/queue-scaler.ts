/**
 * The QueueScaler resource (docs/architecture.md, "QueueScaler contract"): its spec parsed once, at the edge
 * (the informer, the file reader), into a typed `Scaler` with the same defaults and rules as the
 * CRD schema, or an `InvalidSpec` naming each bad field; and the shape of its status.
 * Kubernetes applies the CRD's defaults and validation; the local stack reads a file, so the
 * controller checks again and names the bad field either way.
 */
import { z } from 'zod';

export const QUEUE_SCALER_GROUP = 'watermark.nws.io';
export const QUEUE_SCALER_VERSION = 'v1alpha1';
export const QUEUE_SCALER_PLURAL = 'queuescalers';
export const QUEUE_SCALER_KIND = 'QueueScaler';
/** Pauses scaling at its value (KEDA's autoscaling.keda.sh/paused-replicas): scale to N and hold. */
export const PAUSED_REPLICAS_ANNOTATION = 'watermark.nws.io/paused-replicas';

/** Defaults shared with charts/nws-watermark/crds/queuescaler.yaml (a unit test keeps them equal). */
export const SPEC_DEFAULTS = {
  vhost: '/',
  minReplicas: 0,
  maxReplicas: 10,
  messagesPerReplica: 10,
  activationMessages: 0,
  pollingIntervalSeconds: 5,
  scaleDownStabilizationSeconds: 60,
  cooldownSeconds: 120,
} as const;

const count = (min: number) =>
  z
    .number({ error: `expected an integer ≥ ${min}` })
    .int()
    .min(min);

const ratePolicy = (maxPercent: number | undefined) =>
  z
    .strictObject({
      type: z.enum(['Pods', 'Percent']),
      value: count(1),
      periodSeconds: count(1).max(1800),
    })
    .refine((p) => maxPercent === undefined || p.type !== 'Percent' || p.value <= maxPercent, {
      path: ['value'],
      error: `expected a Percent of at most ${maxPercent} (a scale-down cannot remove more than all replicas)`,
    });

/** spec.behavior.scaleUp / scaleDown, as the HPA's: a window, rate policies and how to pick among them. */
const scalingRules = (maxPercent: number | undefined) =>
  z.strictObject({
    stabilizationWindowSeconds: count(0).max(3600).optional(),
    selectPolicy: z.enum(['Max', 'Min', 'Disabled']).default('Max'),
    policies: z.array(ratePolicy(maxPercent)).max(10).default([]),
  });

export const queueScalerSpecSchema = z
  .object({
    scaleTargetRef: z.object({
      apiVersion: z.string().min(1).default('apps/v1'),
      kind: z.string().min(1).default('Deployment'),
      name: z.string().min(1, 'expected the name of the workload to scale'),
    }),
    queue: z.string().min(1, 'expected a queue name'),
    vhost: z.string().min(1).default(SPEC_DEFAULTS.vhost),
    minReplicas: count(0).default(SPEC_DEFAULTS.minReplicas),
    maxReplicas: count(1).default(SPEC_DEFAULTS.maxReplicas),
    messagesPerReplica: count(1).default(SPEC_DEFAULTS.messagesPerReplica),
    activationMessages: count(0).default(SPEC_DEFAULTS.activationMessages),
    pollingIntervalSeconds: count(1).default(SPEC_DEFAULTS.pollingIntervalSeconds),
    scaleDownStabilizationSeconds: count(0).default(SPEC_DEFAULTS.scaleDownStabilizationSeconds),
    cooldownSeconds: count(0).default(SPEC_DEFAULTS.cooldownSeconds),
    /** After failureThreshold failed depth reads in a row, scale to replicas (within the bounds). */
    fallback: z.strictObject({ failureThreshold: count(1), replicas: count(0) }).optional(),
    behavior: z.strictObject({ scaleUp: scalingRules(undefined).optional(), scaleDown: scalingRules(100).optional() }).optional(),
  })
  .refine((spec) => spec.minReplicas <= spec.maxReplicas, {
    path: ['maxReplicas'],
    error: 'expected maxReplicas ≥ minReplicas',
  });

export type QueueScalerSpec = z.infer<typeof queueScalerSpecSchema>;

export class InvalidSpecError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(invalidSpecMessage(problems));
    this.name = 'InvalidSpecError';
  }
}

function invalidSpecMessage(problems: readonly string[]): string {
  return `invalid QueueScaler spec: ${problems.join('; ')}`;
}

/** The one check of a spec against the schema: the typed spec, or each bad field and what it received. */
function checkSpec(raw: unknown): { spec: QueueScalerSpec } | { problems: string[] } {
  const parsed = queueScalerSpecSchema.safeParse(raw);
  if (parsed.success) return { spec: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const received = issue.path.reduce<unknown>(
      (value, key) => (typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined),
      raw,
    );
    return `spec.${issue.path.join('.')}: ${issue.message} (received ${received === undefined ? 'nothing' : JSON.stringify(received)})`;
  });
  return { problems };
}

export interface ScalerMetadata {
  name: string;
  annotations?: Record<string, string>;
  namespace?: string;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
}

/** A QueueScaler whose spec parsed: what a ScalerLoop runs. */
export interface Scaler {
  metadata: ScalerMetadata;
  spec: QueueScalerSpec;
  /** From the paused-replicas annotation: scaling is paused at this many replicas. */
  pausedReplicas?: number;
  /** The status the resource carried when it was read, so conditions survive a controller restart. */
  status?: QueueScalerStatus;
}

/** A QueueScaler whose spec did not parse: what is wrong, as the Ready condition says it. */
export interface InvalidSpec {
  metadata: ScalerMetadata;
  status?: QueueScalerStatus;
  /** One line per bad field: `spec.<path>: <rule> (received <value>)`. */
  problems: readonly string[];
  message: string;
}

export function isInvalidSpec(scaler: Scaler | InvalidSpec): scaler is InvalidSpec {
  return 'problems' in scaler;
}

/** Parses a resource's spec: a Scaler, or an InvalidSpec naming each bad field and what it received. */
export function parseScaler(object: QueueScalerObject): Scaler | InvalidSpec {
  const { metadata, status } = object;
  const known = { metadata, ...(status ? { status } : {}) };
  const checked = checkSpec(object.spec);
  const paused = pausedReplicas(metadata.annotations);
  const problems = [...('problems' in checked ? checked.problems : []), ...('problem' in paused ? [paused.problem] : [])];
  if ('spec' in checked && 'replicas' in paused)
    return { ...known, spec: checked.spec, ...(paused.replicas === undefined ? {} : { pausedReplicas: paused.replicas }) };
  return { ...known, problems, message: invalidSpecMessage(problems) };
}

/** The paused-replicas annotation: absent, a replica count, or what is wrong with it. */
function pausedReplicas(annotations: Record<string, string> | undefined): { replicas: number | undefined } | { problem: string } {
  const raw = annotations?.[PAUSED_REPLICAS_ANNOTATION];
  if (raw === undefined) return { replicas: undefined };
  const replicas = /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isInteger(replicas)) return { replicas };
  return { problem: `metadata.annotations["${PAUSED_REPLICAS_ANNOTATION}"]: expected a replica count, an integer ≥ 0 (received ${JSON.stringify(raw)})` };
}

/** Parses a bare spec or throws InvalidSpecError: for checks of the schema itself (the CRD's tests). */
export function parseSpec(raw: unknown): QueueScalerSpec {
  const checked = checkSpec(raw);
  if ('problems' in checked) throw new InvalidSpecError(checked.problems);
  return checked.spec;
}

export type ConditionType = 'Ready' | 'Active' | 'Paused' | 'Fallback' | 'ScalingLimited';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface QueueScalerStatus {
  queueDepth?: number;
  readyMessages?: number;
  /** Absent when only AMQP answered: passive declare cannot see unacked messages. */
  unackedMessages?: number;
  /** Messages waiting in the queue's retry delay queues: visible, not scaled on (they are not work yet). */
  retryingMessages?: number;
  currentReplicas?: number;
  desiredReplicas?: number;
  lastScaleTime?: string;
  conditions: Condition[];
  observedGeneration?: number;
}

/** The resource as the Kubernetes API (or the local spec file) gives it, its spec not checked yet. */
export interface QueueScalerObject {
  apiVersion?: string;
  kind?: string;
  metadata: ScalerMetadata;
  spec?: unknown;
  status?: QueueScalerStatus;
}
