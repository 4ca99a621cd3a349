/**
 * The chaos ledger: every upload sent, what the api answered, and what became of it. After a fault
 * it settles each accepted upload (done with a decodable image, or failed for a known-bad image)
 * and checks the invariants: nothing accepted is lost, nothing refused was kept, no job produced
 * two results, the queues drain and the dead-letter queue holds only poison.
 */
import type { ChannelModel } from 'amqplib';
import amqp from 'amqplib';
import sharp from 'sharp';
import { sha256Hex } from '../../src/shared/content-address.js';
import { DEAD_LETTER_QUEUE, EVENTS_EXCHANGE, RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import type { ObjectStore } from '../../src/shared/object-store.js';
import { makeJpeg } from '../helpers/images.js';

export interface UploadRecord {
  seed: number;
  /** SHA-256 of the bytes: the original's address. */
  hash: string;
  /** The result id the api named (X-Result-Id): what /status and /image take. */
  id?: string;
  /** HTTP status, or 0 when the request itself failed (connection refused or reset). */
  status: number;
  poison: boolean;
  /** The problem type's last segment for error answers (e.g. `unavailable`, `unconfirmed`). */
  problem?: string;
}

export interface LedgerRow {
  fault: string;
  uploads: number;
  accepted: number;
  queued: number;
  refused: number;
  done: number;
  failed: number;
  lost: number;
  duplicates: number;
  recoverySeconds: number;
  violations: string[];
}

/** Distinct small photographs-alike, cheap to generate by the thousand. */
export async function imageFor(seed: number): Promise<Buffer> {
  return makeJpeg(seed, 192 + (seed % 64), 144);
}

export async function sendUpload(apiUrl: string, seed: number, data?: Buffer, poison = false): Promise<UploadRecord> {
  const bytes = data ?? (await imageFor(seed));
  const hash = sha256Hex(bytes);
  const form = new FormData();
  form.set('image', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), `chaos-${seed}.jpg`);
  try {
    const res = await fetch(`${apiUrl}/upload`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
    const id = res.headers.get('x-result-id') ?? undefined;
    if (res.headers.get('content-type')?.includes('problem+json')) {
      const problem = (await res.json()) as { type?: string };
      return { seed, hash, id, status: res.status, poison, problem: problem.type?.split('/').at(-1) };
    }
    await res.arrayBuffer();
    return { seed, hash, id, status: res.status, poison };
  } catch {
    return { seed, hash, status: 0, poison };
  }
}

/** One more upload sent during a fault, and kept in the ledger with the others. */
export type SendUpload = (seed: number) => Promise<UploadRecord>;

/**
 * Sends `count` uploads, `concurrency` at a time, calling `during` once a third of them are out.
 * `during` can send uploads of its own (`send`, recorded too), so a fault is held until its effect
 * shows (a 202, a 503) instead of for a guessed time.
 */
export async function uploadUnderLoad(
  apiUrl: string,
  seeds: number[],
  { concurrency = 4, during }: { concurrency?: number; during?: (send: SendUpload) => Promise<void> } = {},
): Promise<UploadRecord[]> {
  const records: UploadRecord[] = [];
  const send: SendUpload = async (seed) => {
    const record = await sendUpload(apiUrl, seed);
    records.push(record);
    return record;
  };
  let next = 0;
  let fault: Promise<void> | undefined;
  const trigger = Math.floor(seeds.length / 3);
  const lane = async () => {
    while (next < seeds.length) {
      const seed = seeds[next++]!;
      if (during && !fault && next >= trigger) fault = during(send);
      await send(seed);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  await fault;
  return records;
}

/** Counts job.done events per hash, reconnecting when the broker goes away. */
export class DoneEvents {
  private readonly counts = new Map<string, number>();
  private connection: ChannelModel | undefined;
  private stopped = false;

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      const connection = await amqp.connect(this.url);
      connection.on('error', () => undefined);
      connection.on('close', () => {
        this.connection = undefined;
        if (!this.stopped) setTimeout(() => void this.start(), 300);
      });
      const channel = await connection.createChannel();
      await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, EVENTS_EXCHANGE, 'job.done');
      await channel.consume(
        queue,
        (m) => {
          if (!m) return;
          const hash = (JSON.parse(m.content.toString()) as { hash: string }).hash;
          this.counts.set(hash, (this.counts.get(hash) ?? 0) + 1);
        },
        { noAck: true },
      );
      this.connection = connection;
    } catch {
      if (!this.stopped) setTimeout(() => void this.start(), 300);
    }
  }

  duplicates(): string[] {
    return [...this.counts.entries()].filter(([, n]) => n > 1).map(([hash]) => hash);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.connection?.close().catch(() => undefined);
  }
}

/**
 * Polls every unsettled upload in rounds until all are done or failed. It gives up only when no
 * upload settled for `stallMs` (a stuck system) or after `timeoutMs` (a bound on the run): a long
 * backlog that keeps draining is slow, not lost.
 */
async function settleStatuses(apiUrl: string, hashes: string[], timeoutMs: number, stallMs: number): Promise<Map<string, string>> {
  const final = new Map<string, string>();
  let open = [...new Set(hashes)];
  const deadline = Date.now() + timeoutMs;
  let lastProgress = Date.now();
  while (open.length > 0) {
    const still: string[] = [];
    for (let i = 0; i < open.length; i += 16) {
      const batch = open.slice(i, i + 16);
      const statuses = await Promise.all(batch.map((hash) => statusOf(apiUrl, hash)));
      batch.forEach((hash, j) => {
        final.set(hash, statuses[j]!);
        if (statuses[j] !== 'done' && statuses[j] !== 'failed') still.push(hash);
      });
    }
    if (still.length < open.length) lastProgress = Date.now();
    open = still;
    if (open.length === 0 || Date.now() > deadline || Date.now() - lastProgress > stallMs) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return final;
}

interface SettleContext {
  fault: string;
  apiUrl: string;
  store: ObjectStore;
  brokerUrl: string;
  events: DoneEvents;
  recoverySeconds: number;
  timeoutMs?: number;
  stallMs?: number;
}

async function statusOf(apiUrl: string, hash: string): Promise<string> {
  try {
    const res = await fetch(`${apiUrl}/status/${hash}`);
    if (res.status === 404) return 'unknown';
    if (!res.ok) return 'unavailable';
    return ((await res.json()) as { status: string }).status;
  } catch {
    return 'unavailable';
  }
}

/** Waits for every accepted upload to settle (bounded), then checks the invariants. */
export async function settle(records: UploadRecord[], ctx: SettleContext): Promise<LedgerRow> {
  const violations: string[] = [];
  // A 503 "unconfirmed" told the client the job may still run: it may finish, but must not fail or vanish half-done.
  const unconfirmed = records.filter((r) => r.status === 503 && r.problem === 'unconfirmed');
  const accepted = records.filter((r) => r.status === 200 || r.status === 202);
  const acceptedHashes = new Set(accepted.map((r) => r.hash));
  const idOf = (record: UploadRecord): string => record.id ?? record.hash;
  const final = await settleStatuses(ctx.apiUrl, accepted.map(idOf), ctx.timeoutMs ?? 60_000, ctx.stallMs ?? 30_000);

  let done = 0;
  let failed = 0;
  let lost = 0;
  for (const record of accepted) {
    const status = final.get(idOf(record));
    if (status === 'done') {
      const image = await fetch(`${ctx.apiUrl}/image/${idOf(record)}`);
      const bytes = Buffer.from(await image.arrayBuffer());
      const meta = await sharp(bytes)
        .metadata()
        .catch(() => undefined);
      if (image.status !== 200 || !meta?.width) violations.push(`${record.hash.slice(0, 12)} done but its image does not decode`);
      done += 1;
    } else if (status === 'failed') {
      failed += 1;
      if (!record.poison) violations.push(`${record.hash.slice(0, 12)} (a good image) ended failed`);
    } else {
      lost += 1;
      violations.push(`${record.hash.slice(0, 12)} accepted (${record.status}) but ${status}`);
    }
  }

  // Refused uploads left nothing behind (each image is distinct, so any original would be theirs).
  const refused = records.filter((r) => r.status === 503);
  for (const record of refused.filter((r) => r.problem !== 'unconfirmed')) {
    if (acceptedHashes.has(record.hash)) continue;
    const kept = await ctx.store.list(`original/${record.hash}.`, 1).catch(() => ['<store unavailable>']);
    if (kept.length > 0) violations.push(`${record.hash.slice(0, 12)} answered 503 ${record.problem ?? ''} but its original was kept`);
  }
  for (const record of records.filter((r) => r.status !== 200 && r.status !== 202 && r.status !== 503 && !r.poison)) {
    violations.push(`${record.hash.slice(0, 12)} answered ${record.status}`);
  }

  // The queues drain, a consumer is attached, and the DLQ holds only poison, each with a reason.
  const connection = await amqp.connect(ctx.brokerUrl);
  try {
    const channel = await connection.createChannel();
    // Jobs answered 503 "unconfirmed" may reach the queue only once the broker unblocks, after the
    // accepted ones settled: the queue is given the same bounded time to drain, not one snapshot.
    const drainBy = Date.now() + (ctx.stallMs ?? 30_000);
    let retry = await channel.checkQueue(RETRY_QUEUE);
    while (retry.messageCount > 0 && Date.now() < drainBy) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      retry = await channel.checkQueue(RETRY_QUEUE);
    }
    if (retry.messageCount > 0) violations.push(`${retry.messageCount} jobs still waiting in ${RETRY_QUEUE}`);
    if (retry.consumerCount === 0) violations.push('no consumer on the retry queue');
    const poison = new Set(records.filter((r) => r.poison).map((r) => r.hash));
    let dead: Awaited<ReturnType<typeof channel.get>>;
    while ((dead = await channel.get(DEAD_LETTER_QUEUE, { noAck: true }))) {
      const reason = dead.properties.headers?.['x-dead-letter-reason'];
      let hash: string | undefined;
      try {
        hash = (JSON.parse(dead.content.toString()) as { hash?: string }).hash;
      } catch {
        hash = undefined;
      }
      if (!reason) violations.push('a dead letter without a reason');
      const injected = dead.properties.headers?.['x-chaos-poison'] === true || (hash !== undefined && poison.has(hash));
      if (!injected)
        violations.push(
          `dead letter for a good job ${hash?.slice(0, 12)} (${String(reason)}: ${String(dead.properties.headers?.['x-dead-letter-error'] ?? 'no error header')})`,
        );
    }
  } finally {
    await connection.close();
  }

  // Checked once the queue has drained: an unconfirmed job that was enqueued has run by then.
  for (const record of unconfirmed) {
    const status = await statusOf(ctx.apiUrl, idOf(record));
    if (status === 'failed') violations.push(`${record.hash.slice(0, 12)} answered 503 unconfirmed, then failed`);
  }

  // Events name the job by its result id.
  const acceptedIds = new Set(accepted.map(idOf));
  const duplicates = ctx.events.duplicates().filter((id) => acceptedIds.has(id));
  for (const hash of duplicates) violations.push(`${hash.slice(0, 12)} announced done more than once`);

  return {
    fault: ctx.fault,
    uploads: records.length,
    accepted: accepted.length,
    queued: records.filter((r) => r.status === 202).length,
    refused: refused.length,
    done,
    failed,
    lost,
    duplicates: duplicates.length,
    recoverySeconds: ctx.recoverySeconds,
    violations,
  };
}

export function printLedger(rows: LedgerRow[]): void {
  const header = ['fault', 'uploads', 'accepted', '202', '503', 'done', 'failed', 'lost', 'duplicates', 'recover s'];
  const lines = rows.map((r) =>
    [r.fault, r.uploads, r.accepted, r.queued, r.refused, r.done, r.failed, r.lost, r.duplicates, r.recoverySeconds.toFixed(1)].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(
    [format(header), `|${widths.map((w, i) => (i === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w - 1)}:-`)).join('|')}|`, ...lines.map(format)].join('\n'),
  );
}
