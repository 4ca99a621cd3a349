/**
 * Which watermark settings are current. The optimizer owns them and reports their fingerprint on
 * every result; the api remembers the last one (and keeps it in Redis) so cache lookups still work
 * while the optimizer is down or before the api has called it once.
 */
import { warnAndContinue, type Logger } from '../shared/logger.js';
import type { ResultCache } from '../shared/cache.js';

export class FingerprintTracker {
  private current: string | undefined;

  constructor(
    private readonly cache: ResultCache,
    private readonly logger: Logger,
  ) {}

  async load(fetchFromOptimizer: () => Promise<string | undefined>): Promise<void> {
    // An optimizer that cannot say is the usual case at start (it may start later): the Redis copy answers.
    const fromOptimizer = await fetchFromOptimizer().catch(() => undefined);
    if (fromOptimizer) {
      await this.update(fromOptimizer);
      return;
    }
    this.current = await this.cache
      .getFingerprint()
      .catch(warnAndContinue(this.logger, 'settings fingerprint not known yet; no cache hits until the optimizer answers'));
  }

  get value(): string | undefined {
    return this.current;
  }

  async update(fingerprint: string): Promise<void> {
    if (fingerprint === this.current || fingerprint === 'unknown') return;
    if (this.current) this.logger.info({ from: this.current, to: fingerprint }, 'watermark settings changed');
    this.current = fingerprint;
    await this.cache.setFingerprint(fingerprint).catch(warnAndContinue(this.logger, 'could not persist fingerprint'));
  }
}
