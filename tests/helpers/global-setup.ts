/**
 * Runs once before the suite: the real RabbitMQ and Redis must answer on loopback (started from
 * Debian's packages when installed but stopped, exactly as `npm start` does).
 */
import { ensureRabbitMq, ensureRedis } from '../../src/stack/local-services.js';

export default async function setup(): Promise<void> {
  await ensureRabbitMq(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
  await ensureRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
}
