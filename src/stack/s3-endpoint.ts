/**
 * The embedded S3 endpoint for local runs and tests: s3rver on loopback, data in a folder, speaking
 * real S3 (SigV4-checked) to the same client the services use against MinIO in the chart.
 */
import S3rver from 's3rver';
import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { commonEnv } from '../shared/config.js';
import { runService, type RunningService } from '../shared/lifecycle.js';

export interface S3EndpointOptions {
  host: string;
  port: number;
  directory: string;
  bucket: string;
}

export interface RunningS3Endpoint extends RunningService {
  /** s3rver serves no /metrics. */
  registry: undefined;
}

export async function startS3Endpoint(options: S3EndpointOptions): Promise<RunningS3Endpoint> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: options.host,
    port: options.port,
    directory: options.directory,
    silent: true,
    // Path-style only: bucket names never come from the Host header.
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket }],
  });
  const address = await server.run();
  return {
    url: `http://${options.host}:${address.port}`,
    port: address.port,
    registry: undefined,
    stop: () => server.close(),
  };
}

const s3Env = z.object({
  S3_HOST: z.string().default('127.0.0.1'),
  S3_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  S3_DATA_DIR: z.string().min(1).default('.data/s3'),
  S3_BUCKET: z.string().min(3).default('watermark'),
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  /** s3rver has no drain of its own: its close only gets this long. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(2_000),
});

export function runS3Endpoint(): Promise<void> {
  return runService({
    name: 's3',
    schema: s3Env,
    start: async (config, logger) => {
      const endpoint = await startS3Endpoint({ host: config.S3_HOST, port: config.S3_PORT, directory: config.S3_DATA_DIR, bucket: config.S3_BUCKET });
      logger.info({ url: endpoint.url, directory: config.S3_DATA_DIR }, 's3 endpoint listening');
      return endpoint;
    },
    graceMs: (config) => config.SHUTDOWN_GRACE_MS,
  });
}
