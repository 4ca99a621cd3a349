#!/usr/bin/env node
/**
 * Cluster chaos test: while uploads flow through the api, force-kill the optimizer pod, then scale
 * the optimizer to zero for a window and back. Asserts zero lost uploads (every upload ends 200, or
 * 202 then done), the optimizer Deployment ready again, watermark_retry drained, the workers scaled
 * back to their minimum. Skips (exit 0) with a message when no cluster is reachable.
 *
 *   node k8s/chaos/optimizer-chaos.mjs          (after `helm install` or `skaffold run`, see README)
 *
 * Environment: NAMESPACE (nws-watermark), RELEASE (nws-watermark), UPLOADS (40), OUTAGE_SECONDS (30),
 * SCALE_BACK_TIMEOUT_SECONDS (default: the QueueScaler's stabilization + cooldown + 120), API_KEY
 * (default: the key the chart generated, read from its Secret; none when the api is open).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);
const NS = process.env.NAMESPACE ?? 'nws-watermark';
const RELEASE = process.env.RELEASE ?? 'nws-watermark';
const UPLOADS = Number(process.env.UPLOADS ?? 40);
const OUTAGE_SECONDS = Number(process.env.OUTAGE_SECONDS ?? 30);
const optimizer = `${RELEASE}-optimizer`;
const failures = [];
const log = (msg) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Authorization for the api, once main() knows the key. */
let apiHeaders = {};

async function kubectl(...args) {
  const { stdout } = await run('kubectl', ['--namespace', NS, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await sleep(1000);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last.message})` : ''}`);
}

/** kubectl port-forward to a free local port; resolves to that port. */
function portForward(target, remotePort) {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--namespace', NS, 'port-forward', target, `:${remotePort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    process.on('exit', () => child.kill());
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => reject(new Error(`port-forward ${target} exited ${code}: ${out}`)));
  });
}

async function preflight() {
  try {
    await run('kubectl', ['version', '--request-timeout=5s'], { timeout: 15_000 });
    await run('kubectl', ['cluster-info', '--request-timeout=5s'], { timeout: 15_000 });
  } catch (err) {
    console.log(`SKIP: no Kubernetes cluster reachable (${String(err.message ?? err).split('\n')[0]}).`);
    console.log('      Create one with `kind create cluster --config k8s/kind-config.yaml` and install the chart (README, "Kubernetes").');
    process.exit(0);
  }
  await kubectl('get', 'deployment', optimizer).catch(() => {
    throw new Error(`the release is not installed: no deployment ${optimizer} in namespace ${NS} (set NAMESPACE/RELEASE)`);
  });
}

/**
 * Basic auth for RabbitMQ management: the chart's admin (rabbitmq.mode builtin) or the operator's
 * default user (mode operator, RabbitmqCluster <release>-rabbitmq). Both serve management on the
 * Service <release>-rabbitmq.
 */
async function managementAuth() {
  const candidates = [
    [`${RELEASE}-rabbitmq`, 'admin-username', 'admin-password'],
    [`${RELEASE}-rabbitmq-default-user`, 'username', 'password'],
  ];
  for (const [name, userKey, passwordKey] of candidates) {
    const data = await kubectl('get', 'secret', name, '-o', 'json')
      .then((out) => JSON.parse(out).data ?? {})
      .catch(() => ({}));
    if (data[userKey] && data[passwordKey]) {
      const b64 = (k) => Buffer.from(data[k], 'base64').toString();
      return `Basic ${Buffer.from(`${b64(userKey)}:${b64(passwordKey)}`).toString('base64')}`;
    }
  }
  throw new Error(`no RabbitMQ management credentials: neither Secret ${candidates.map((c) => c[0]).join(' nor ')} (rabbitmq.mode external is not supported here)`);
}

async function queueDepth(mgmtPort, auth, vhost, queue) {
  const res = await fetch(`http://127.0.0.1:${mgmtPort}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`, {
    headers: { authorization: auth },
  });
  if (!res.ok) throw new Error(`management API ${res.status}`);
  const q = await res.json();
  return { ready: q.messages_ready ?? NaN, unacked: q.messages_unacknowledged ?? NaN };
}

async function uploadOne(apiPort, i) {
  const image = await sharp({
    create: { width: 480, height: 360, channels: 3, background: { r: (i * 37) % 256, g: (Date.now() >> 4) % 256, b: (i * 91) % 256 } },
  })
    .jpeg()
    .toBuffer();
  for (let attempt = 1; attempt <= 10; attempt += 1) {
    const form = new FormData();
    form.set('image', new Blob([image], { type: 'image/jpeg' }), `chaos-${i}.jpg`);
    try {
      const res = await fetch(`http://127.0.0.1:${apiPort}/upload`, { method: 'POST', body: form, headers: apiHeaders, signal: AbortSignal.timeout(60_000) });
      if (res.status === 200) return { i, hash: res.headers.get('x-result-id'), result: 200 };
      if (res.status === 202) return { i, hash: (await res.json()).jobId, result: 202 };
      // 503: nothing was accepted (documented contract): the client retries after Retry-After.
      if (res.status === 503) {
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        continue;
      }
      return { i, result: res.status, error: await res.text() };
    } catch (err) {
      if (attempt === 10) return { i, result: 'error', error: String(err) };
      await sleep(1000);
    }
  }
  return { i, result: 'gave up after 503s' };
}

async function main() {
  await preflight();
  const scaler = JSON.parse(await kubectl('get', 'queuescaler', `${RELEASE}-worker`, '-o', 'json'));
  const originalReplicas = Number(await kubectl('get', 'deployment', optimizer, '-o', 'jsonpath={.spec.replicas}'));
  const auth = await managementAuth();
  // The chart requires a key by default and generates one (charts/nws-watermark, api.auth).
  const apiKey =
    process.env.API_KEY ??
    (await kubectl('get', 'secret', `${RELEASE}-api-keys`, '-o', 'jsonpath={.data.api-key}')
      .then((b) => Buffer.from(b, 'base64').toString())
      .catch(() => ''));
  if (apiKey) apiHeaders = { Authorization: `Bearer ${apiKey}` };
  const apiPort = await portForward(`svc/${RELEASE}-api`, 3000);
  const mgmtPort = await portForward(`svc/${RELEASE}-rabbitmq`, 15672);
  const { vhost, queue } = scaler.spec;
  const dlqBefore = await queueDepth(mgmtPort, auth, vhost, `${queue}.dlq`).catch(() => ({ ready: 0, unacked: 0 }));
  log(`api on 127.0.0.1:${apiPort}; ${UPLOADS} uploads; optimizer has ${originalReplicas} replica(s)`);

  let maxWorkers = 0;
  const watchWorkers = setInterval(async () => {
    const n = Number(await kubectl('get', 'deployment', `${RELEASE}-worker`, '-o', 'jsonpath={.spec.replicas}').catch(() => 0));
    maxWorkers = Math.max(maxWorkers, n);
  }, 2000);

  const chaos = (async () => {
    await sleep(3000);
    log('kill: kubectl delete pod --force (optimizer)');
    await kubectl('delete', 'pod', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=optimizer`, '--force', '--grace-period=0', '--wait=false');
    await sleep(5000);
    log(`outage: optimizer scaled to 0 for ${OUTAGE_SECONDS} s`);
    await kubectl('scale', 'deployment', optimizer, '--replicas=0');
    await sleep(OUTAGE_SECONDS * 1000);
    log(`recovery: optimizer scaled back to ${originalReplicas}`);
    await kubectl('scale', 'deployment', optimizer, `--replicas=${originalReplicas}`);
  })();

  const results = [];
  const spacing = ((OUTAGE_SECONDS + 15) * 1000) / UPLOADS;
  await Promise.all(
    Array.from({ length: UPLOADS }, async (_, i) => {
      await sleep(i * spacing);
      results.push(await uploadOne(apiPort, i));
    }),
  );
  await chaos;
  const counts = results.reduce((acc, r) => ({ ...acc, [r.result]: (acc[r.result] ?? 0) + 1 }), {});
  log(`uploads answered: ${JSON.stringify(counts)}`);
  for (const r of results.filter((x) => x.result !== 200 && x.result !== 202)) failures.push(`upload ${r.i} was not accepted: ${r.result} ${r.error ?? ''}`);

  await kubectl('rollout', 'status', `deployment/${optimizer}`, '--timeout=300s');
  log('optimizer Deployment ready again');

  const pending = results.filter((r) => r.result === 202);
  await waitFor(`${pending.length} queued jobs to finish`, 600_000, async () => {
    const states = await Promise.all(
      pending.map(async (r) => (await (await fetch(`http://127.0.0.1:${apiPort}/status/${r.hash}`, { headers: apiHeaders })).json()).status),
    );
    return states.every((s) => s === 'done' || s === 'failed') ? states : undefined;
  }).then((states) => {
    const notDone = states.filter((s) => s !== 'done').length;
    if (notDone > 0) failures.push(`${notDone} queued uploads ended failed`);
    log(`${pending.length} queued uploads done`);
  }, (err) => failures.push(err.message));

  await waitFor('watermark_retry drained', 120_000, async () => {
    const d = await queueDepth(mgmtPort, auth, vhost, queue);
    return d.ready === 0 && d.unacked === 0;
  }).then(() => log(`${queue} drained`), (err) => failures.push(err.message));
  const dlqAfter = await queueDepth(mgmtPort, auth, vhost, `${queue}.dlq`).catch(() => dlqBefore);
  if (dlqAfter.ready > dlqBefore.ready) failures.push(`${dlqAfter.ready - dlqBefore.ready} jobs dead-lettered during the run`);

  const min = scaler.spec.minReplicas ?? 0;
  const scaleBackSeconds = Number(process.env.SCALE_BACK_TIMEOUT_SECONDS ?? (scaler.spec.scaleDownStabilizationSeconds ?? 60) + (scaler.spec.cooldownSeconds ?? 0) + 120);
  await waitFor(`workers back to ${min}`, scaleBackSeconds * 1000, async () =>
    Number(await kubectl('get', 'deployment', `${RELEASE}-worker`, '-o', 'jsonpath={.spec.replicas}')) === min,
  ).then(() => log(`workers: up to ${maxWorkers} during the run, back to ${min}`), (err) => failures.push(err.message));
  clearInterval(watchWorkers);

  const lost = results.filter((r) => r.result !== 200 && r.result !== 202).length;
  log(`lost uploads: ${lost}`);
  if (failures.length > 0) {
    console.error(`FAILED:\n  - ${failures.join('\n  - ')}`);
    process.exit(1);
  }
  log('PASSED: zero lost uploads, optimizer recovered, queue drained, workers scaled back');
  process.exit(0);
}

main().catch((err) => {
  console.error(`FAILED: ${err.message}`);
  process.exit(1);
});
