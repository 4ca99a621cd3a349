/**
 * What every scale target offers: read its replicas, set them. A Kubernetes workload through its
 * /scale subresource, or the local worker processes of `npm start`. Errors a human must act on
 * have their own types, so the reconciler turns them into conditions that say what to do.
 */
export interface ScaleReading {
  /** Replicas the target is set to. */
  specReplicas: number;
  /** Replicas that exist now (pods or processes), as the target reports them. */
  statusReplicas: number;
}

export interface ScaleTarget {
  /** e.g. "deployment/nws-watermark-worker in namespace prod". */
  readonly description: string;
  read(): Promise<ScaleReading>;
  /** Sets the replicas; a scale-down lets the stopped workers drain (SIGTERM, grace period). */
  scale(replicas: number): Promise<void>;
}

export class TargetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetNotFoundError';
  }
}

export class TargetForbiddenError extends Error {
  /** @param permission what is missing, e.g. "patch deployments/scale (apps) in namespace prod" */
  constructor(
    readonly permission: string,
    message: string,
  ) {
    super(message);
    this.name = 'TargetForbiddenError';
  }
}
