import { describe, expect, it } from 'vitest';
import { apiEnv, ConfigError, controllerEnv, loadConfig, workerEnv } from '../../../src/shared/config.js';

describe('configuration', () => {
  it('has working defaults for the local stack', () => {
    const config = loadConfig(apiEnv, {});
    expect(config.PORT).toBe(3000);
    expect(config.RABBITMQ_URL).toBe('amqp://guest:guest@127.0.0.1:5672/');
    expect(config.MAX_UPLOAD_BYTES).toBe(25 * 1024 * 1024);
    expect(config.RESULT_TTL_SECONDS).toBe(86_400);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(apiEnv, { PORT: '' }).PORT).toBe(3000);
  });

  it('names every bad variable, what it expected and what it received', () => {
    let error: unknown;
    try {
      loadConfig(apiEnv, { PORT: 'eighty', RABBITMQ_URL: 'not a url', MAX_UPLOAD_BYTES: '-5' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('PORT');
    expect(message).toContain('"eighty"');
    expect(message).toContain('RABBITMQ_URL');
    expect(message).toContain('MAX_UPLOAD_BYTES');
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('parses retry delays as a list of milliseconds', () => {
    expect(loadConfig(workerEnv, { RETRY_DELAYS_MS: '100,2000' }).RETRY_DELAYS_MS).toEqual([100, 2000]);
    expect(() => loadConfig(workerEnv, { RETRY_DELAYS_MS: '1s,2s' })).toThrow(/RETRY_DELAYS_MS/);
  });

  it('gives the timeouts that were once literals in the code their former values', () => {
    expect(loadConfig(workerEnv, {})).toMatchObject({
      PUBLISH_CONFIRM_TIMEOUT_MS: 5_000,
      EVENT_CONFIRM_TIMEOUT_MS: 2_000,
      HTTP_CLOSE_GRACE_MS: 1_000,
      OPTIMIZER_PROBE_TIMEOUT_MS: 1_000,
      REDIS_TIMEOUT_MS: 2_000,
      S3_TIMEOUT_MS: 10_000,
    });
    expect(loadConfig(apiEnv, {})).toMatchObject({ PUBLISH_CONFIRM_TIMEOUT_MS: 5_000, EVENT_CONFIRM_TIMEOUT_MS: 2_000 });
    expect(loadConfig(controllerEnv, {})).toMatchObject({ HTTP_CLOSE_GRACE_MS: 1_000, RABBITMQ_MANAGEMENT_TIMEOUT_MS: 3_000 });
    expect(() => loadConfig(workerEnv, { EVENT_CONFIRM_TIMEOUT_MS: '0' })).toThrow(/EVENT_CONFIRM_TIMEOUT_MS/);
  });
});

describe('TRUST_PROXY', () => {
  const trust = (value: string) => loadConfig(apiEnv, { TRUST_PROXY: value }).TRUST_PROXY;

  it("takes express's forms: off, on, a hop count, or the proxies' addresses, subnets and range names", () => {
    expect(trust('')).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('1')).toBe(1);
    expect(trust('loopback, 10.0.0.0/8,fd00::/8, 192.168.1.7')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
  });

  it('refuses what express would not understand, naming the variable', () => {
    for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0/8', '10.0.0.1/8/2', '-1']) {
      expect(() => trust(bad), bad).toThrow(/TRUST_PROXY/);
    }
  });
});
