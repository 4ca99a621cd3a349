/**
 * Scenario 1, the ceiling, in a process of its own: the optimizer's `watermarkImage` called
 * directly (no HTTP, no multipart), `concurrency` images at a time, with the optimizer's sharp
 * settings (one libvips thread per image, no operation cache). Like the optimizer it has its heap
 * and its allocator to itself: the bench process holds hundreds of MB of upload bodies whose
 * garbage would otherwise be collected and unmapped in the middle of the ceiling's run.
 *
 * The parent side is `CeilingProcess`; this same file is the child when started by it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadConfig, optimizerEnv } from '../../src/shared/config.js';
import { watermarkImage } from '../../src/optimizer/pipeline.js';
import { defaultPreset } from '../../src/shared/watermark/presets.js';
import { loadPresetCatalog } from '../../src/shared/watermark/presets-file.js';
import { SERVICE_NODE_FLAGS } from '../../src/shared/service-command.js';
import { distinct } from './corpus.js';
import { collectGarbage, machineBusySeconds } from './cpu.js';

export interface CeilingRun {
  perSecond: number;
  /** CPU milliseconds the pipeline used per image (this process, all its threads). */
  cpuMsPerImage: number;
  /** Cores busy on the whole machine during the run: near the ceiling's own, nothing else ran. */
  machineCores: number;
}

interface Request {
  inputs: Buffer[];
  amount: number;
  concurrency: number;
}
type Reply = { ok: true; run: CeilingRun } | { ok: false; error: string };

const CHILD_FLAG = 'NWS_BENCH_CEILING_CHILD';

async function runCeiling({ inputs, amount, concurrency }: Request): Promise<CeilingRun> {
  sharp.concurrency(Math.max(1, Math.floor(availableParallelism() / concurrency)));
  sharp.cache(false);
  const config = loadConfig(optimizerEnv, {});
  const settings = defaultPreset(await loadPresetCatalog(config)).settings;
  // Distinct bytes per image, as on the HTTP paths; built before the clock starts.
  const bodies = Array.from({ length: amount }, (_, i) => distinct(inputs[i % inputs.length]!));
  let next = 0;
  collectGarbage();
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length)
        await watermarkImage(bodies[next++]!, settings, {
          maxInputPixels: 100_000_000,
          regionMark: config.WATERMARK_REGION_COMPOSITE,
        });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    perSecond: amount / seconds,
    cpuMsPerImage: (cpu.user + cpu.system) / 1000 / amount,
    machineCores: (machineBusySeconds() - machineBefore) / seconds,
  };
}

/** The parent's handle on the ceiling process: one run at a time. */
export class CeilingProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(): CeilingProcess {
    const child = fork(fileURLToPath(import.meta.url), [], {
      // The optimizer's Node flags too: the ceiling is its pipeline as it runs there, minus HTTP.
      execArgv: [...SERVICE_NODE_FLAGS, '--import', 'tsx'],
      env: { ...process.env, [CHILD_FLAG]: '1' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new CeilingProcess(child);
  }

  run(inputs: Buffer[], amount: number, concurrency: number): Promise<CeilingRun> {
    return new Promise<CeilingRun>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the ceiling process exited (${code}) during a run`));
      this.child.once('exit', onExit);
      this.child.once('message', (reply: Reply) => {
        this.child.off('exit', onExit);
        if (reply.ok) resolve(reply.run);
        else reject(new Error(`ceiling run failed: ${reply.error}`));
      });
      this.child.send({ inputs, amount, concurrency } satisfies Request);
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

if (process.env[CHILD_FLAG] === '1' && process.send) {
  process.on('message', (request: Request) => {
    runCeiling({ ...request, inputs: request.inputs.map((input) => Buffer.from(input.buffer, input.byteOffset, input.byteLength)) }).then(
      (run) => process.send!({ ok: true, run } satisfies Reply),
      (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
