/**
 * `nws-watermark stack` as a user runs it (on free ports, in a private vhost): it prints what runs
 * where, serves uploads end to end, restarts a component killed with SIGKILL, and stops cleanly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../../src/shared/service-command.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { reservePorts } from '../helpers/ports.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let stack: ChildComponent;
let ports: Record<string, number>;
const dataDir = mkdtempSync(join(tmpdir(), 'nws-stack-'));

beforeAll(async () => {
  h = await createHarness('stack');
  // Workers take WORKER_PORT, WORKER_PORT+1, …
  ports = { api: await freePort(), optimizer: await freePort(), worker: await reservePorts(4), s3: await freePort(), controller: await freePort() };
  stack = spawnComponent('stack', {
    RABBITMQ_URL: h.rabbitUrl,
    REDIS_KEY_PREFIX: h.redisPrefix,
    LOG_LEVEL: 'warn',
    STACK_DATA_DIR: dataDir,
    API_PORT: String(ports.api),
    OPTIMIZER_PORT: String(ports.optimizer),
    WORKER_PORT: String(ports.worker),
    S3_PORT: String(ports.s3),
    CONTROLLER_PORT: String(ports.controller),
  });
  await waitFor(() => stack.output.join('').includes('NWS Watermark is running'), { timeoutMs: 60_000, what: 'the start-up summary' });
  await waitReady(`http://127.0.0.1:${ports.api}`);
});
afterAll(async () => {
  stack?.kill('SIGTERM');
  await stack?.exited;
  await h?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function pidOf(component: string): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-f', `nws-watermark.js ${component}`, '-P', String(stack.process.pid)])
      .toString()
      .trim();
    return out ? Number(out.split('\n')[0]) : undefined;
  } catch {
    return undefined; // pgrep exits 1 when nothing matches
  }
}

describe('local stack', () => {
  it('prints what runs where', () => {
    const summary = stack.output.join('');
    expect(summary).toContain(`http://localhost:${ports.api}`);
    expect(summary).toContain(`http://127.0.0.1:${ports.optimizer}`);
    expect(summary).toContain('embedded s3rver');
    expect(summary).toMatch(/autoscaler\s+1\.\.4 workers from the depth of watermark_retry/);
    expect(summary).toContain(`http://127.0.0.1:${ports.controller} (/metrics, /scalers)`);
    expect(summary).toMatch(/access\s+open: no API key asked/);
  });

  it('runs the controller, which keeps minReplicas worker processes consuming', async () => {
    await waitFor(
      async () => {
        const text = await fetch(`http://127.0.0.1:${ports.controller}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        return /watermark_scaler_current_replicas\{[^}]*scaler="worker"[^}]*\} 1$/m.test(text);
      },
      { timeoutMs: 30_000, what: 'the controller to run one worker' },
    );
    await waitReady(`http://127.0.0.1:${ports.worker}`);
  });

  it('starts every component, and the workers it scales, with the services Node flags', async () => {
    const worker = await waitFor(
      () => {
        try {
          // The stack's own worker: a child of its controller (other suites run workers too).
          const controller = pidOf('controller');
          if (controller === undefined) return undefined;
          return (
            Number(
              execFileSync('pgrep', ['-f', 'nws-watermark.js worker', '-P', String(controller)])
                .toString()
                .trim()
                .split('\n')[0],
            ) || undefined
          );
        } catch {
          return undefined;
        }
      },
      { what: 'a worker process' },
    );
    for (const pid of [pidOf('api'), pidOf('optimizer'), pidOf('s3'), worker]) {
      expect(pid).toBeDefined();
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 1 + SERVICE_NODE_FLAGS.length)).toEqual([...SERVICE_NODE_FLAGS]);
    }
  });

  it('serves an upload end to end, with the page on the same port', async () => {
    const res = await upload(`http://127.0.0.1:${ports.api}`, await makeJpeg(400));
    expect(res.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${ports.api}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });

  it('restarts the optimizer after a SIGKILL, as Kubernetes restarts a pod', async () => {
    const before = pidOf('optimizer');
    expect(before).toBeDefined();
    process.kill(before!, 'SIGKILL');
    const after = await waitFor(
      () => {
        const pid = pidOf('optimizer');
        return pid !== undefined && pid !== before ? pid : undefined;
      },
      { timeoutMs: 20_000, what: 'a new optimizer process' },
    );
    expect(after).not.toBe(before);
    await waitReady(`http://127.0.0.1:${ports.optimizer}`);
    // The stack's own log reaches this process through a pipe: wait for the line, don't read it at once.
    await waitFor(() => stack.output.join('').includes('[optimizer] exited (SIGKILL); restarting'), { what: "the stack's restart line" });
  });

  it('stops every component on SIGTERM and exits 0', async () => {
    stack.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    await waitFor(
      async () =>
        !(await fetch(`http://127.0.0.1:${ports.api}/healthz`).then(
          () => true,
          () => false,
        )),
      { what: 'the api to stop' },
    );
  });
});
