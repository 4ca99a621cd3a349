/**
 * The embedded S3 endpoint for local runs and tests: s3rver on loopback, data in a folder, speaking
 * real S3 to the same `minio` client the services use against MinIO in the chart.
 */
import S3rver from 's3rver';
import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { loadConfig } from '../shared/config.js';
import { exitOnConfigError, stopOnSignals } from '../shared/lifecycle.js';
import { createLogger } from '../shared/logger.js';

export interface S3EndpointOptions {
  host: string;
  port: number;
  directory: string;
  bucket: string;
}

export interface RunningS3Endpoint {
  url: string;
  port: number;
  stop(): Promise<void>;
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
    stop: () => server.close(),
  };
}

const s3Env = z.object({
  S3_HOST: z.string().default('127.0.0.1'),
  S3_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  S3_DATA_DIR: z.string().min(1).default('.data/s3'),
  S3_BUCKET: z.string().min(3).default('watermark'),
  LOG_LEVEL: z.string().default('info'),
});

export async function runS3Endpoint(): Promise<void> {
  let config: z.infer<typeof s3Env>;
  try {
    config = loadConfig(s3Env);
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger('s3', config.LOG_LEVEL);
  const endpoint = await startS3Endpoint({ host: config.S3_HOST, port: config.S3_PORT, directory: config.S3_DATA_DIR, bucket: config.S3_BUCKET });
  logger.info({ url: endpoint.url, directory: config.S3_DATA_DIR }, 's3 endpoint listening');
  stopOnSignals(endpoint, logger, 2_000);
}
