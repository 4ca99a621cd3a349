/**
 * The chart's `helm test` pod never runs here (no cluster), so its script is taken from the
 * rendered chart and run with node against the real api, as the pod would run it: with the
 * generated key it uploads and gets the watermarked image; without one it checks the refusal.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../chart/helm.js';
import { find, render, RELEASE } from '../chart/manifests.js';
import { createHarness, type Harness } from '../helpers/harness.js';

const KEY = 'helm-test-key-0123456789abcdef';
let h: Harness;
let keyed: string;
let open: string;
let script: string;

beforeAll(async () => {
  h = await createHarness('helm-test-script');
  await h.startOptimizer();
  keyed = (await h.startApi({ API_KEYS: `default:${KEY}` })).url;
  open = (await h.startApi()).url;
  const pod = find(await render(), 'Pod', `${RELEASE}-nws-watermark-test-upload`) as unknown as { spec: { containers: { args: string[] }[] } };
  script = pod.spec.containers[0]?.args[0] ?? '';
});
afterAll(async () => h?.cleanup());

/** Runs the pod's script from the repository (its node_modules stand in for the image's /app). */
function runTestPod(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe("the chart's helm test", () => {
  it('is refused without a key, then uploads with the generated one and checks the image', async () => {
    const run = await runTestPod({ API_URL: keyed, AUTH_REQUIRED: 'true', API_KEY: KEY });
    expect(run.output).toContain('POST /upload without a key -> 401');
    expect(run.output).toMatch(/ok: watermarked image \w+ 640x480/);
    expect(run.code).toBe(0);
  });

  it('fails when the api lets an upload in without a key although keys are required', async () => {
    const run = await runTestPod({ API_URL: open, AUTH_REQUIRED: 'true', API_KEY: KEY });
    expect(run.output).toContain('expected 401 without a key');
    expect(run.code).toBe(1);
  });

  it('fails with a key the api does not know', async () => {
    const run = await runTestPod({ API_URL: keyed, AUTH_REQUIRED: 'true', API_KEY: 'not-the-key-0123456789' });
    expect(run.output).toMatch(/-> 401 application\/problem\+json/);
    expect(run.code).toBe(1);
  });

  it('uploads without a key on an open api', async () => {
    const run = await runTestPod({ API_URL: open, AUTH_REQUIRED: 'false' });
    expect(run.output).toMatch(/ok: watermarked image \w+ 640x480/);
    expect(run.code).toBe(0);
  });
});
