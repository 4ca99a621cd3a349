/**
 * k8s/e2e.sh, the user journey on a real cluster: here it must skip, saying why, when no cluster
 * answers or a tool is missing; and over fake kubectl, helm, kind and docker (small scripts that log
 * their arguments) its first steps must call them as a user would: kind-aware image loading, the
 * install with values-kind.yaml (values-dev.yaml off kind), helm test, and a ledger.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { CHART, REPO, helmBinary } from './helm.js';

const SCRIPT = join(REPO, 'k8s/e2e.sh');
// Debian's shellcheck (scripts/install-system-deps.sh installs it); the lint is skipped without it.
const hasShellcheck = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT], { cwd: REPO, timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('k8s/e2e.sh without a cluster', () => {
  it.skipIf(!hasShellcheck)('passes shellcheck', () => {
    expect(() => execFileSync('shellcheck', [SCRIPT], { encoding: 'utf8' })).not.toThrow();
  });

  it('skips with exit 0 and a clear message when no cluster answers', async () => {
    const r = await runScript({ HELM: helmBinary(), KUBECONFIG: '/nonexistent/kubeconfig' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^SKIP: no Kubernetes cluster answers \(/m);
    expect(r.stdout).toContain('kind create cluster --config k8s/kind-config.yaml');
  });

  it('skips naming the tool when kubectl or helm is missing', async () => {
    const noKubectl = await runScript({ KUBECTL: '/nonexistent/kubectl' });
    expect(noKubectl.code).toBe(0);
    expect(noKubectl.stdout).toMatch(/^SKIP: kubectl is not installed/m);
    const noHelm = await runScript({ HELM: '/nonexistent/helm' });
    expect(noHelm.code).toBe(0);
    expect(noHelm.stdout).toMatch(/^SKIP: helm is not installed/m);
  });
});

describe('NOTES.txt', () => {
  it('names cluster scripts that exist, the journey among them', () => {
    const notes = readFileSync(join(CHART, 'templates/NOTES.txt'), 'utf8');
    const scripts = [...notes.matchAll(/k8s\/[\w/.-]+\.(?:sh|mjs)/g)].map((m) => m[0]);
    expect(scripts).toContain('k8s/e2e.sh');
    for (const s of scripts) expect(existsSync(join(REPO, s)), s).toBe(true);
  });
});

describe('k8s/e2e.sh over fake tools', () => {
  let dir: string;
  const calls = () =>
    readFileSync(join(dir, 'calls.log'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l !== '');

  // Each fake logs "<tool> <args>" and answers only what the script reads from it.
  const fake = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/usr/bin/env bash\necho "${name} $*" >> "${dir}/calls.log"\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  let tools: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nws-e2e-'));
    tools = {
      // A QueueScaler, the Secrets named in FAKE_SECRETS, and a port-forward that fails at once.
      KUBECTL: fake(
        'kubectl',
        [
          'case "$*" in',
          '  "config current-context") echo "$FAKE_CONTEXT" ;;',
          // The QueueScaler's fields one by one (the scaling step), or whole (the chaos script).
          '  *"get queuescaler nws-watermark-worker -o jsonpath="*) case "$*" in',
          '    *minReplicas*) echo 1 ;; *messagesPerReplica*) echo 2 ;; *scaleDownStabilizationSeconds*) echo 0 ;; *queueDepth*) echo 3 ;; esac ;;',
          `  *"get queuescaler"*) echo '{"spec":{"queue":"watermark_retry","vhost":"watermark","minReplicas":1}}' ;;`,
          '  *"get deployment nws-watermark-optimizer -o jsonpath="*) echo 2 ;;',
          `  *"logs -l app.kubernetes.io/instance=nws-watermark,app.kubernetes.io/component=bucket-hook"*) printf '%s\\n' "$FAKE_HOOK_LOG" ;;`,
          // Two worker pods while the optimizer is held at zero (unless FAKE_WORKERS_STUCK), else one.
          `  *"get pods"*) n=1; if grep -q -- 'optimizer --replicas=0' "${dir}/calls.log" && ! grep -q -- 'optimizer --replicas=2' "${dir}/calls.log" && [ -z "$FAKE_WORKERS_STUCK" ]; then n=2; fi; seq "$n" | sed 's/^/worker-/' ;;`,
          '  *"get secret "*" -o json") all="$*"; name="${all#*get secret }"; name="${name%% *}"',
          `    case " $FAKE_SECRETS " in *" $name "*) echo '{"data":{"username":"dQ==","password":"cA==","admin-username":"dQ==","admin-password":"cA=="}}' ;;`,
          '      *) echo "Error from server (NotFound): $name" >&2; exit 1 ;; esac ;;',
          `  *"get secret nws-watermark-api-keys"*) printf %s "$FAKE_API_KEY_B64" ;;`,
          // With FAKE_API_PORT: forwards to the test's stand-in api and stays until killed.
          '  *port-forward*) [ -z "$FAKE_API_PORT" ] && { echo "error: fake port-forward" >&2; exit 1; }',
          `    echo $$ > "${dir}/port-forward.pid"; echo "Forwarding from 127.0.0.1:$FAKE_API_PORT -> 3000"; exec sleep 60 ;;`,
          'esac',
          'exit 0',
        ].join('\n'),
      ),
      HELM: fake(
        'helm',
        'case "$1" in upgrade) [ -n "$FAKE_INSTALL_FAILS" ] && { echo "Error: context deadline exceeded" >&2; exit 1; } ;; test) echo "Phase:          Succeeded" ;; esac; exit 0',
      ),
      KIND: fake('kind', 'exit 0'),
      DOCKER: fake('docker', 'exit 0'),
      STEPS: 'image install test',
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const journey = async (env: Record<string, string>) => {
    writeFileSync(join(dir, 'calls.log'), '');
    return runScript({ ...tools, ...env });
  };

  it('on a kind context: builds, loads into that kind cluster, installs with values-kind.yaml, runs helm test', async () => {
    const r = await journey({ FAKE_CONTEXT: 'kind-nws-watermark' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = calls();
    const at = (prefix: string) => log.findIndex((l) => l.startsWith(prefix));
    expect(log).toContain(`docker build -t nws-watermark:e2e ${REPO.replace(/\/$/, '')}`);
    expect(log).toContain('kind load docker-image nws-watermark:e2e --name nws-watermark');
    const install = log.find((l) => l.startsWith('helm upgrade --install nws-watermark '));
    expect(install).toBeDefined();
    expect(install).toContain(`-f ${CHART}/values-kind.yaml`);
    expect(install).toContain('--set image.repository=nws-watermark --set image.tag=e2e');
    expect(install).toMatch(/--namespace nws-watermark --create-namespace .*--wait/);
    expect(log).toContain('helm test nws-watermark --namespace nws-watermark --logs');
    expect(at('docker build')).toBeLessThan(at('kind load'));
    expect(at('kind load')).toBeLessThan(at('helm upgrade'));
    expect(at('helm upgrade')).toBeLessThan(at('helm test'));
    expect(r.stdout).toMatch(/^Ledger \(.*context kind-nws-watermark, release nws-watermark in nws-watermark\)$/m);
    expect(r.stdout).toMatch(/^PASS\s+image\s+nws-watermark:e2e \(built\) loaded into kind cluster nws-watermark$/m);
    expect(r.stdout).toMatch(/^PASS\s+install\s+helm install with values-kind\.yaml/m);
    expect(r.stdout).toMatch(/^PASS\s+test\s+helm test: 1 test pod\(s\) succeeded$/m);
  });

  it('elsewhere: loads nothing into kind and installs with values-dev.yaml, which needs no StorageClass', async () => {
    const r = await journey({ FAKE_CONTEXT: 'prod-eu', IMAGE: 'registry.example/nws-watermark:1.2.3' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = calls();
    expect(log.some((l) => l.startsWith('kind ') || l.startsWith('docker '))).toBe(false);
    const install = log.find((l) => l.startsWith('helm upgrade --install'));
    expect(install).toContain(`-f ${CHART}/values-dev.yaml`);
    expect(install).toContain('--set image.repository=registry.example/nws-watermark --set image.tag=1.2.3');
    expect(r.stdout).toMatch(/^INFO\s+image\s+context prod-eu is not kind: the nodes must be able to pull registry\.example\/nws-watermark:1\.2\.3$/m);
  });

  it('runs the chaos script against the same namespace and release, and a failure there is a FAIL line', async () => {
    // The chaos script calls kubectl from PATH: the fake comes first there.
    const r = await journey({ FAKE_CONTEXT: 'kind-nws-watermark', STEPS: 'chaos', PATH: `${dir}:${process.env.PATH ?? ''}` });
    expect(r.stderr).not.toMatch(/unbound variable/);
    expect(calls()).toContain('kubectl --namespace nws-watermark get deployment nws-watermark-optimizer');
    expect(r.stdout).toMatch(
      /^FAIL\s+chaos\s+FAILED: no RabbitMQ management credentials: neither Secret nws-watermark-rabbitmq nor nws-watermark-rabbitmq-default-user/m,
    );
    expect(r.code).toBe(1);
  });

  it("lets the chaos script read management with the operator's default user when the chart's admin Secret is absent", async () => {
    const r = await journey({
      FAKE_CONTEXT: 'kind-nws-watermark',
      STEPS: 'chaos',
      FAKE_SECRETS: 'nws-watermark-rabbitmq-default-user',
      PATH: `${dir}:${process.env.PATH ?? ''}`,
    });
    // Past the credentials: it stops only at the (fake) port-forward of the api.
    expect(r.stdout).toMatch(/^FAIL\s+chaos\s+FAILED: port-forward svc\/nws-watermark-api exited 1/m);
  });

  describe('the upload, through the port-forward to a stand-in api on loopback', () => {
    const KEY = 'e2e-test-key';
    let server: Server;
    let port: number;
    const seen: { authorization?: string; body: string }[] = [];
    // 200 as with the optimizer up; the scaling tests set 202, as with it held at zero.
    let answer = 200;
    beforeAll(async () => {
      // Answers like the api: 401 without the right Bearer key, 200 with bytes for a PNG part named image.
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('latin1');
          seen.push({ authorization: req.headers.authorization, body });
          if (req.headers.authorization !== `Bearer ${KEY}`) {
            res.writeHead(401).end('{"title":"Unauthorized"}');
          } else if (req.method !== 'POST' || req.url !== '/upload' || !body.includes('name="image"') || !body.includes('\x89PNG')) {
            res.writeHead(400).end('{"title":"Bad Request"}');
          } else {
            if (answer === 202) res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"pending"}');
            else res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(1234));
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const upload = (key: string, env: Record<string, string> = {}) =>
      journey({
        FAKE_CONTEXT: 'kind-nws-watermark',
        STEPS: 'upload',
        FAKE_API_PORT: String(port),
        FAKE_API_KEY_B64: Buffer.from(key).toString('base64'),
        ...env,
      });

    it('scales up on a backlog and back down: optimizer to zero, messagesPerReplica × minReplicas + 1 uploads, optimizer back', async () => {
      answer = 202;
      const before = seen.length;
      const r = await upload(KEY, { STEPS: 'scale' }).finally(() => (answer = 200));
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(seen.length - before).toBe(3);
      const log = calls();
      const at = (line: string) => log.indexOf(line);
      const down = at('kubectl --namespace nws-watermark scale deployment nws-watermark-optimizer --replicas=0');
      const back = at('kubectl --namespace nws-watermark scale deployment nws-watermark-optimizer --replicas=2');
      expect(down).toBeGreaterThanOrEqual(0);
      expect(back).toBeGreaterThan(down);
      expect(r.stdout).toMatch(/^PASS\s+scale-up\s+3 uploads queued: worker pods 1 -> 2 \(3 deep\)$/m);
      expect(r.stdout).toMatch(/^PASS\s+scale-down\s+queue drained: worker pods back to 1 \(minReplicas 1\)$/m);
    });

    it('fails the scale-up when the pod count does not grow, and still brings the optimizer back', async () => {
      answer = 202;
      const r = await upload(KEY, { STEPS: 'scale', FAKE_WORKERS_STUCK: '1', SCALE_TIMEOUT_SECONDS: '1' }).finally(() => (answer = 200));
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL\s+scale-up\s+3 uploads queued, worker pods still 1 after 1s/m);
      expect(calls()).toContain('kubectl --namespace nws-watermark scale deployment nws-watermark-optimizer --replicas=2');
    });

    it('posts a generated PNG as the image part with the key from the Secret, and stops its port-forward', async () => {
      const r = await upload(KEY);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^PASS\s+upload\s+200, 1234 bytes watermarked, key from Secret nws-watermark-api-keys$/m);
      expect(seen.at(-1)?.authorization).toBe(`Bearer ${KEY}`);
      expect(calls()).toContain('kubectl --namespace nws-watermark port-forward svc/nws-watermark-api :3000');
      // The port-forward the script started is stopped once it exits: gone, or dead awaiting its reaper.
      const pid = Number(readFileSync(join(dir, 'port-forward.pid'), 'utf8'));
      await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(' Z '), { what: `port-forward ${pid} stopped` });
    });

    it('says what the api answered when it refuses the upload', async () => {
      const r = await upload('not-the-key');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL\s+upload\s+HTTP 401: \{"title":"Unauthorized"\}$/m);
    });
  });

  it('stops after a failed install, says why in the ledger and exits 1', async () => {
    const r = await journey({ FAKE_CONTEXT: 'kind-nws-watermark', FAKE_INSTALL_FAILS: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+install\s+Error: context deadline exceeded/m);
    expect(calls().some((l) => l.startsWith('helm test'))).toBe(false);
  });

  it("puts the bucket hook's cause beside helm's timeout when the hook gave up", async () => {
    const cause = 'gave up after 180 s: the MinIO pod nws-watermark-minio-0 is Pending: its PVC data is not bound — is there a default StorageClass?';
    const r = await journey({ FAKE_CONTEXT: 'kind-nws-watermark', FAKE_INSTALL_FAILS: '1', FAKE_HOOK_LOG: `bucket: waiting\n${cause}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Error: context deadline exceeded — bucket hook: ${cause}`);
  });
});
