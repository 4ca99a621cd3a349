/**
 * The optimizer service: POST /optimize (multipart field `image`, and `settings`: the effective
 * watermark settings as JSON, `default` when absent) → the watermarked image, behind an admission
 * gate that sheds load with 503; GET /settings describes its `default` and its logos. Stateless, so
 * any number of replicas can run behind one Service.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Request, Response } from 'express';
import sharp from 'sharp';
import { optimizerEnv, type OptimizerConfig } from '../shared/config.js';
import { drainGraceMs, runService } from '../shared/lifecycle.js';
import type { OptimizerSettings } from '../shared/contracts/optimizer-settings.js';
import { decodeValue } from '../shared/contracts/decode.js';
import { WatermarkSettingsSchema, type WatermarkSettings } from '../shared/contracts/watermark-settings.js';
import { defaultPreset } from '../shared/watermark/presets.js';
import { loadPresetCatalog } from '../shared/watermark/presets-file.js';
import { PIPELINE_VERSION } from '../shared/watermark/identity.js';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { readMultipartFile } from '../shared/http/multipart.js';
import { HttpProblem } from '../shared/http/problem.js';
import { createServiceApp, type ServingService } from '../shared/http/service-app.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRegistry, optimizeMetrics } from '../shared/metrics.js';
import { AdmissionGate, SaturatedError } from './admission.js';
import { measureText } from './overlay.js';
import { UnprocessableImageError, watermarkImage } from './pipeline.js';
import { prepareLogo } from './logo.js';
import { renderSettings, UnknownLogoError } from './settings.js';
import { errorMessage } from '../shared/errors.js';

export interface RunningOptimizer extends ServingService {
  /** What a request without `settings` gets. */
  defaultSettings: WatermarkSettings;
  /** Turns /readyz to 503 at once; stop() does it first, then waits SHUTDOWN_DELAY_MS and drains. */
  markNotReady: () => void;
}

const RETRY_AFTER_SECONDS = 1;

export async function startOptimizer(config: OptimizerConfig, logger: Logger = createLogger('optimizer', config.LOG_LEVEL)): Promise<RunningOptimizer> {
  configureSharp(config.OPTIMIZER_CONCURRENCY);
  // The logos are decoded now: a broken logo file stops the start, not every request.
  const catalog = await loadPresetCatalog(config, prepareLogo);
  const defaultSettings = defaultPreset(catalog).settings;
  // Measuring the text now spares the first request, and reports a machine without fonts at start.
  if (defaultSettings.text.trim() !== '' && !(await measureText(defaultSettings.text))) {
    logger.warn({ text: defaultSettings.text }, 'the watermark text renders nothing: are fonts installed (e.g. fonts-dejavu-core)?');
  }
  const registry = createRegistry('optimizer');
  const { optimizeDuration } = optimizeMetrics(registry);
  const gate = new AdmissionGate({ concurrency: config.OPTIMIZER_CONCURRENCY, maxWaiting: config.OPTIMIZER_MAX_WAITING });
  const service = createServiceApp({ service: 'optimizer', registry, logger });
  const { app } = service;

  const settingsView: OptimizerSettings = {
    pipelineVersion: PIPELINE_VERSION,
    default: defaultSettings,
    logos: [...catalog.logos].map(([name, logo]) => ({ name, sha256: logo.sha256 })),
  };

  app.get('/settings', (_req, res) => {
    res.json(settingsView);
  });

  app.post('/optimize', async (req: Request, res: Response) => {
    try {
      const { data: input, fields } = await readMultipartFile(req, {
        fieldName: 'image',
        maxBytes: config.MAX_UPLOAD_BYTES,
        // Its client is the api's keep-alive pool: answer on a connection that stays usable.
        unreadBody: 'drain',
        // Refuse as soon as the file starts when already full: no point receiving megabytes to drop them.
        refuseFile: () => (gate.saturated ? saturated(new SaturatedError()) : undefined),
      });
      const settings = renderSettings(requestSettings(fields, defaultSettings), catalog.logos);
      // The real admission: the upload is in memory, CPU work is what the gate bounds.
      const image = await gate.tryRun(async () => {
        const stopTimer = optimizeDuration.startTimer();
        const result = await watermarkImage(input, settings, {
          maxInputPixels: config.MAX_INPUT_PIXELS,
          regionMark: config.WATERMARK_REGION_COMPOSITE,
        });
        stopTimer({ format: result.format });
        return result;
      });
      res
        .status(200)
        .type(image.contentType)
        .set({
          'X-Pipeline-Version': PIPELINE_VERSION,
          'X-Image-Width': String(image.width),
          'X-Image-Height': String(image.height),
          'Cache-Control': 'no-store',
        })
        .send(image.data);
    } catch (err) {
      throw toHttpProblem(err, logger);
    }
  });

  const running = await service.serve(config.PORT, config.HOST, async (server) => {
    // Load balancers see /readyz false and stop sending before the server stops accepting.
    await delay(config.SHUTDOWN_DELAY_MS);
    await server.close(config.SHUTDOWN_GRACE_MS);
  });
  logger.info({ url: running.url, presets: catalog.presets.size, logos: catalog.logos.size }, `optimizer listening on ${running.url}`);
  return { ...running, defaultSettings, markNotReady: service.markNotReady };
}

/** The `settings` field, decoded against the contract, or `default` when the request names none. */
function requestSettings(fields: readonly (readonly [string, string])[], defaultSettings: WatermarkSettings): WatermarkSettings {
  const given = fields.filter(([name]) => name === 'settings');
  if (given.length === 0) return defaultSettings;
  if (given.length > 1) throw new HttpProblem(PROBLEMS.badRequest, 'Send the field "settings" once');
  let value: unknown;
  try {
    value = JSON.parse(given[0]?.[1] ?? '');
  } catch {
    throw new HttpProblem(PROBLEMS.badRequest, 'The field "settings" is not JSON');
  }
  const decoded = decodeValue(WatermarkSettingsSchema, value);
  if (!decoded.ok) throw new HttpProblem(PROBLEMS.badRequest, `The field "settings" does not hold: ${decoded.reason}`);
  return decoded.value;
}

function toHttpProblem(err: unknown, logger: Logger): unknown {
  if (err instanceof HttpProblem) return err;
  if (err instanceof UnknownLogoError) {
    logger.warn({ reason: err.message }, 'settings name a logo this optimizer does not hold');
    return new HttpProblem(PROBLEMS.unavailable, err.message, { retryAfterSeconds: 5 });
  }
  if (err instanceof SaturatedError) return saturated(err);
  if (err instanceof UnprocessableImageError) {
    logger.info({ reason: err.message, cause: err.cause === undefined ? undefined : errorMessage(err.cause) }, 'unprocessable image');
    return new HttpProblem(PROBLEMS.undecodable, err.message);
  }
  return err;
}

function saturated(err: SaturatedError): HttpProblem {
  return new HttpProblem(PROBLEMS.saturated, err.message, { retryAfterSeconds: RETRY_AFTER_SECONDS });
}

/**
 * libvips threads per image × OPTIMIZER_CONCURRENCY images ≈ the cores we have: on 2 cores with 2
 * concurrent requests that is one thread each, so parallel requests never oversubscribe the CPU and
 * a lone request on a 1-concurrency optimizer still uses both cores. The operation cache is off:
 * every input is new bytes, caching only holds memory. (sharp runs on libuv's pool, 4 threads by
 * default: OPTIMIZER_CONCURRENCY above 4 needs UV_THREADPOOL_SIZE raised before start.)
 */
function configureSharp(concurrentImages: number): void {
  sharp.concurrency(Math.max(1, Math.floor(availableParallelism() / concurrentImages)));
  sharp.cache(false);
}

export function runOptimizer(): Promise<void> {
  return runService({ name: 'optimizer', schema: optimizerEnv, start: startOptimizer, graceMs: drainGraceMs });
}
