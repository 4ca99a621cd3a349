/**
 * A Deployment or StatefulSet scaled through its /scale subresource, as the HPA does. The patch
 * carries the resourceVersion that was read, so a change by someone else in between is a 409, not
 * a silent overwrite: the target re-reads and retries. The client's default patch content type is
 * JSON Patch (an array of operations); we send a merge patch and say so in Content-Type.
 */
import { PatchStrategy, setHeaderOptions, type AppsV1Api, type V1Scale } from '@kubernetes/client-node';
import { TargetForbiddenError, TargetNotFoundError, type ScaleReading, type ScaleTarget } from './scale-target.js';
import { statusCode } from '../kubernetes/api-errors.js';

export interface ScaleTargetRef {
  apiVersion: string;
  kind: string;
  name: string;
}

const SUPPORTED: Record<string, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets' };
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const CONFLICT_RETRIES = 3;

export class UnsupportedTargetError extends Error {}

export class KubernetesScaleTarget implements ScaleTarget {
  readonly description: string;
  private readonly resource: string;
  private resourceVersion: string | undefined;

  /** `apps` is the controller's one client: a target is made at every pass and must cost nothing. */
  constructor(
    private readonly apps: AppsV1Api,
    private readonly namespace: string,
    private readonly ref: ScaleTargetRef,
  ) {
    const resource = SUPPORTED[ref.kind];
    if (ref.apiVersion !== 'apps/v1' || !resource) {
      throw new UnsupportedTargetError(`scaleTargetRef ${ref.apiVersion} ${ref.kind} is not supported: expected apps/v1 Deployment or StatefulSet`);
    }
    this.resource = resource;
    this.description = `${ref.kind.toLowerCase()}/${ref.name} in namespace ${namespace}`;
  }

  async read(): Promise<ScaleReading> {
    const scale = await this.call('get', () =>
      this.ref.kind === 'Deployment'
        ? this.apps.readNamespacedDeploymentScale({ name: this.ref.name, namespace: this.namespace })
        : this.apps.readNamespacedStatefulSetScale({ name: this.ref.name, namespace: this.namespace }),
    );
    this.resourceVersion = scale.metadata?.resourceVersion;
    return { specReplicas: scale.spec?.replicas ?? 0, statusReplicas: scale.status?.replicas ?? 0 };
  }

  async scale(replicas: number): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      if (this.resourceVersion === undefined) await this.read();
      const body = { metadata: { resourceVersion: this.resourceVersion }, spec: { replicas } };
      try {
        const scaled = await this.call('patch', () =>
          this.ref.kind === 'Deployment'
            ? this.apps.patchNamespacedDeploymentScale({ name: this.ref.name, namespace: this.namespace, body }, MERGE_PATCH)
            : this.apps.patchNamespacedStatefulSetScale({ name: this.ref.name, namespace: this.namespace, body }, MERGE_PATCH),
        );
        this.resourceVersion = scaled.metadata?.resourceVersion;
        return;
      } catch (err) {
        if (statusCode(err) !== 409 || attempt >= CONFLICT_RETRIES) throw err;
        // Someone changed the workload since our read (a rollout, kubectl scale): read again.
        this.resourceVersion = undefined;
      }
    }
  }

  private async call(verb: 'get' | 'patch', request: () => Promise<V1Scale>): Promise<V1Scale> {
    try {
      return await request();
    } catch (err) {
      const code = statusCode(err);
      if (code === 404) throw new TargetNotFoundError(`${this.description} not found (scaleTargetRef.name "${this.ref.name}")`);
      if (code === 403) {
        throw new TargetForbiddenError(
          `${verb} ${this.resource}/scale (API group apps) in namespace ${this.namespace}`,
          `the API server answered 403 to ${verb} ${this.description}/scale`,
        );
      }
      throw err;
    }
  }
}
