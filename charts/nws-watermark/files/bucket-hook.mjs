// The bucket hook (post-install, post-upgrade): create S3_BUCKET in the chart's object store, waiting
// for the store at most WAIT_SECONDS. When it gives up it says why, from the store pod's status read
// through the Kubernetes API (its Role: get/list pods, get persistentvolumeclaims, in its namespace):
// e.g. "the MinIO pod is Pending: its PVC … is not bound — is there a default StorageClass?".
// Runs in the service image, with the services' own object store client (APP_DIR/dist).
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const env = process.env;
const engine = env.STORE_NAME ?? 'object store';
const namespace = env.POD_NAMESPACE ?? 'default';
const waitMs = Number(env.WAIT_SECONDS ?? 180) * 1000;
const intervalMs = Number(env.RETRY_INTERVAL_MS ?? 2000);
const apiUrl = env.KUBE_API_URL ?? 'https://kubernetes.default.svc';
const tokenFile = env.KUBE_TOKEN_FILE ?? '/var/run/secrets/kubernetes.io/serviceaccount/token';

async function createBucket() {
  const { ObjectStore } = await import(pathToFileURL(`${env.APP_DIR ?? '/app'}/dist/shared/object-store.js`).href);
  const store = new ObjectStore({
    endpoint: env.S3_ENDPOINT,
    accessKey: env.S3_ACCESS_KEY,
    secretKey: env.S3_SECRET_KEY,
    region: env.S3_REGION,
    bucket: env.S3_BUCKET,
    timeoutMs: 5000,
  });
  return store.ensureBucket();
}

async function kube(path) {
  const res = await fetch(`${apiUrl}${path}`, {
    headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`, accept: 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

const cond = (pod, type) => (pod.status?.conditions ?? []).find((c) => c.type === type);
const waiting = (pod) => [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c) => c.state?.waiting);

/** Why the store does not answer, from its pods and their claims: one sentence. */
async function diagnose(lastError) {
  const what = `the ${engine} pod`;
  const pods = (await kube(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(env.STORE_SELECTOR)}`)).items ?? [];
  if (pods.length === 0) return `no ${engine} pod exists (selector ${env.STORE_SELECTOR}): kubectl -n ${namespace} describe deployment,statefulset -l ${env.STORE_SELECTOR}`;
  const pod = pods.find((p) => p.status?.phase === 'Pending') ?? pods[0];
  const name = pod.metadata?.name;
  const stuck = waiting(pod);
  if (stuck && /ImagePull|ErrImage|InvalidImageName/.test(stuck.state.waiting.reason ?? '')) {
    return `${what} ${name} cannot pull its image ${stuck.image}: ${stuck.state.waiting.reason} — is that tag published, and can the node reach the registry?`;
  }
  if (pod.status?.phase === 'Pending') {
    for (const volume of pod.spec?.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      let claim;
      try {
        claim = await kube(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claimName}`);
      } catch (err) {
        return `${what} ${name} is Pending: its PVC ${claimName} could not be read (${err.message})`;
      }
      if (claim.status?.phase !== 'Bound') {
        const storageClass = claim.spec?.storageClassName;
        return storageClass
          ? `${what} ${name} is Pending: its PVC ${claimName} is not bound — does StorageClass "${storageClass}" exist and provision volumes? (kubectl get storageclass)`
          : `${what} ${name} is Pending: its PVC ${claimName} is not bound — is there a default StorageClass? (kubectl get storageclass; set the store's persistence.storageClass, or install with values-dev.yaml)`;
      }
    }
    const scheduled = cond(pod, 'PodScheduled');
    if (scheduled?.status === 'False') return `${what} ${name} is Pending: it cannot be scheduled: ${scheduled.message ?? scheduled.reason}`;
    return `${what} ${name} is Pending${stuck ? `: ${stuck.name} is ${stuck.state.waiting.reason}` : ''}`;
  }
  if (stuck) return `${what} ${name} is not running: ${stuck.name} is ${stuck.state.waiting.reason} (${stuck.restartCount ?? 0} restarts) — kubectl -n ${namespace} logs ${name}`;
  if (cond(pod, 'Ready')?.status !== 'True') return `${what} ${name} is ${pod.status?.phase ?? 'in an unknown phase'} but not ready — kubectl -n ${namespace} describe pod ${name}`;
  return `${what} ${name} is ready, yet the S3 call failed: ${lastError} — are the credentials right, and does a NetworkPolicy let this hook in?`;
}

async function main() {
  const deadline = Date.now() + waitMs;
  let lastError;
  for (;;) {
    try {
      console.log(`bucket ${env.S3_BUCKET}: ${await createBucket()} at ${env.S3_ENDPOINT}`);
      return 0;
    } catch (err) {
      lastError = err?.message || err?.code || String(err);
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  let reason;
  try {
    reason = await diagnose(lastError);
  } catch (err) {
    reason = `the ${engine} did not answer (${lastError}), and its pod status could not be read: ${err.message}`;
  }
  const message = `gave up after ${waitMs / 1000} s: ${reason}`;
  console.error(message);
  // The pod's termination message: kubectl describe pod shows it next to the failed hook.
  try {
    writeFileSync(env.TERMINATION_LOG ?? '/dev/termination-log', message);
  } catch {
    /* not in a pod */
  }
  return 1;
}

process.exitCode = await main();
