/**
 * Docker for the container test: the engine (started from Debian's docker.io when it is not running),
 * the local stand-in for the Dockerfile's FROM image, the real build, and containers on the host
 * network with the same restrictions the chart puts on pods.
 */
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Why Docker cannot run at all here, or undefined when an engine answers (started if needed). */
export function ensureEngine(): string | undefined {
  const started = spawnSync('bash', ['scripts/docker-engine.sh'], { cwd: REPO, encoding: 'utf8' });
  if (started.status === 0) return undefined;
  return `Docker Engine unavailable: ${(started.stderr || started.stdout || String(started.error)).trim()}`;
}

/** Runs a long script step with its output kept for the failure message. */
function step(command: string, args: string[], timeoutMs: number): { ms: number } {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: REPO,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, DOCKER_BUILDKIT: hasBuildx() ? '1' : '0' },
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${output}`);
  }
  return { ms: Date.now() - started };
}

function hasBuildx(): boolean {
  return spawnSync('docker', ['buildx', 'version'], { stdio: 'ignore' }).status === 0;
}

export interface BuiltImage {
  tag: string;
  sizeBytes: number;
  standinMs: number;
  buildMs: number;
}

/** Stand-in base image (cached under its tag), then `docker build` of the real Dockerfile. */
export async function buildImage(tag: string): Promise<BuiltImage> {
  const previous = await docker('image', 'inspect', '--format', '{{.Id}}', tag).catch(() => '');
  const standin = step('bash', ['scripts/docker-base-standin.sh', 'Dockerfile'], 15 * 60_000);
  // --network host: the runtime stage installs fonts with apt, the build stage runs npm ci.
  const build = step('docker', ['build', '--network', 'host', '--file', 'Dockerfile', '--tag', tag, '.'], 20 * 60_000);
  const id = await docker('image', 'inspect', '--format', '{{.Id}}', tag);
  if (previous && previous !== id) await docker('image', 'rm', previous).catch(() => undefined);
  const sizeBytes = Number(await docker('image', 'inspect', '--format', '{{.Size}}', tag));
  return { tag, sizeBytes, standinMs: standin.ms, buildMs: build.ms };
}

export interface ContainerOptions {
  name: string;
  image: string;
  command: string;
  env: Record<string, string>;
  /** Host file or folder → path in the container, mounted read-only (a ConfigMap's stand-in). */
  mounts?: Record<string, string>;
}

/**
 * Starts one component on the host network, restricted like the chart's pods: non-root, read-only
 * root file system with a writable /tmp, every capability dropped, no privilege escalation.
 */
export async function startContainer({ name, image, command, env, mounts = {} }: ContainerOptions): Promise<void> {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const mountArgs = Object.entries(mounts).flatMap(([source, target]) => ['--volume', `${source}:${target}:ro`]);
  await docker(
    'run',
    '--detach',
    '--name',
    name,
    '--network',
    'host',
    '--user',
    '10001:10001',
    '--read-only',
    '--tmpfs',
    '/tmp:rw,size=64m',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    ...envArgs,
    ...mountArgs,
    image,
    command,
  );
}

export async function logs(name: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', '--tail', '50', name]).catch(() => ({ stdout: '', stderr: '' }));
  return `${stdout}${stderr}`;
}
