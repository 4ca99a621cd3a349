/**
 * The chaos matrix: under a steady upload load, inject each fault into real processes and keep the
 * ledger. Every fault must end with nothing lost, nothing refused kept, no duplicate result, the
 * queues drained, only poison dead-lettered, and every component ready again by itself.
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_QUEUE, RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { waitFor } from '../helpers/wait.js';
import { DoneEvents, imageFor, printLedger, sendUpload, settle, uploadUnderLoad, type LedgerRow, type SendUpload, type UploadRecord } from './ledger.js';
import { ChaosWorld } from './world/chaos-world.js';

const PER_FAULT = Number(process.env.CHAOS_UPLOADS_PER_FAULT ?? 40);
const world = new ChaosWorld({ workers: 2 });
const rows: LedgerRow[] = [];
let events: DoneEvents;
let nextSeed = 10_000;

function seeds(count: number): number[] {
  return Array.from({ length: count }, () => nextSeed++);
}

/** Holds a fault until an upload sent during it is answered `status`: its effect has shown. */
async function untilAnswered(send: SendUpload, status: number, what: string): Promise<void> {
  await waitFor(async () => (await send(nextSeed++)).status === status, { timeoutMs: 30_000, intervalMs: 100, what });
}

/** Jobs the workers handed back to the queue (nack with requeue), all workers together. */
async function requeued(): Promise<number> {
  let total = 0;
  for (const name of world.processes.keys()) {
    if (!name.startsWith('worker-')) continue;
    const text = await fetch(`${world.workerUrl(Number(name.slice('worker-'.length)))}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    for (const line of text.split('\n'))
      if (line.startsWith('watermark_jobs_nacked_total{') && line.includes('requeue="true"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

/** Seconds from `since` until a fresh upload is answered 200 again (the nominal path is back). */
async function recovered(since: number): Promise<number> {
  await waitFor(async () => (await sendUpload(world.apiUrl, nextSeed++)).status === 200, { timeoutMs: 60_000, intervalMs: 100, what: 'the nominal path back' });
  return (Date.now() - since) / 1000;
}

function unacked(): number {
  const out = execFileSync('rabbitmqctl', ['-n', world.rabbit.node, '-q', 'list_queues', 'name', 'messages_unacknowledged']).toString();
  const line = out.split('\n').find((l) => l.startsWith(`${RETRY_QUEUE}\t`));
  return line ? Number(line.split('\t')[1]) : 0;
}

async function record(fault: string, records: UploadRecord[], recoverySeconds: number): Promise<LedgerRow> {
  await world.waitAllReady();
  const row = await settle(records, { fault, apiUrl: world.apiUrl, store: world.store, brokerUrl: world.rabbit.url, events, recoverySeconds });
  rows.push(row);
  if (row.violations.length > 0) console.log(`${fault}:\n  ${row.violations.slice(0, 20).join('\n  ')}\n${world.logs.slice(-40).join('\n')}`);
  return row;
}

/** An upload answer as the diagnostics print it: the status, and the problem's name for an error. */
const answerOf = (r: UploadRecord) => (r.problem ? `${r.status} ${r.problem}` : String(r.status));

/** Every answer is `expected` (answers as answerOf prints them); otherwise they and the last log lines say what happened instead. */
function expectAnswers(records: UploadRecord[], expected: readonly string[], mark: number): void {
  const answers = records.map(answerOf);
  if (answers.every((answer) => expected.some((e) => answer === e || answer.startsWith(`${e} `)))) return;
  console.log(`expected every answer in [${expected.join(', ')}], got ${answers.join(', ')}\n${world.logsSince(mark).slice(-60).join('\n')}`);
  expect(answers).toEqual(answers.map(() => expected.join(' or ')));
}

/**
 * Uploads while the optimizer cannot take them, each one queued: a 202 once the broker confirms the
 * job, or a 503 "unconfirmed" when its confirm outlasts PUBLISH_CONFIRM_TIMEOUT_MS, as on a loaded
 * machine. Both answers are right, and the ledger checks what becomes of each. The fault that
 * follows needs confirmed jobs, so more are sent until `count` are (a bounded number of rounds).
 */
async function queuedUploads(count: number, mark: number): Promise<UploadRecord[]> {
  const records: UploadRecord[] = [];
  const confirmed = () => records.filter((r) => r.status === 202).length;
  for (let round = 0; round < 10 && confirmed() < count; round += 1) {
    const sent = await Promise.all(seeds(count - confirmed()).map((seed) => sendUpload(world.apiUrl, seed)));
    expectAnswers(sent, ['202', '503 unconfirmed'], mark);
    records.push(...sent);
  }
  expect(confirmed()).toBe(count);
  return records;
}

function expectClean(row: LedgerRow): void {
  expect(row.violations).toEqual([]);
  expect(row.lost).toBe(0);
  expect(row.duplicates).toBe(0);
}

interface Hold {
  begin(): unknown;
  /** The answer an upload sent during the fault gets once the fault has shown (202 queued, 503 refused). */
  until: number;
  what: string;
  end(): unknown;
}

/** A component stopped for the fault, and started again. */
function stopped(component: string): Pick<Hold, 'begin' | 'end'> {
  return { begin: () => world.process(component).stop(), end: () => world.process(component).start() };
}

/** Uploads while the optimizer hangs (SIGSTOP; the caller sends SIGCONT), until `count` are confirmed queued (queuedUploads). */
async function queuedWhileHung(count: number): Promise<UploadRecord[]> {
  const mark = world.logMark();
  world.process('optimizer').signal('SIGSTOP');
  return queuedUploads(count, mark);
}

/** A fault held under load until it shows, then ended: its ledger row, checked clean. */
async function heldFault(fault: string, hold: Hold): Promise<LedgerRow> {
  let cleared = 0;
  const records = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT), {
    during: async (send) => {
      await hold.begin();
      await untilAnswered(send, hold.until, hold.what);
      hold.end();
      cleared = Date.now();
    },
  });
  const row = await record(fault, records, await recovered(cleared));
  expectClean(row);
  return row;
}

beforeAll(async () => {
  await world.start();
  events = new DoneEvents(world.rabbit.url);
  await events.start();
}, 120_000);

// A failed test may leave its fault in place: undone here, so it fails alone and not every test after it.
afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await world.restore();
}, 120_000);

afterAll(async () => {
  if (rows.length > 0) printLedger(rows);
  await events?.stop();
  await world.stop();
}, 60_000);

describe('chaos matrix', () => {
  it('optimizer killed with SIGKILL: restarted, uploads in between queued, all done', async () => {
    let cleared = 0;
    const records = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT), {
      during: async () => {
        world.process('optimizer').signal('SIGKILL');
        cleared = Date.now();
      },
    });
    expectClean(await record('optimizer SIGKILL', records, await recovered(cleared)));
  });

  it('optimizer hung (SIGSTOP past the api timeout, then SIGCONT): uploads get 202 instead of hanging', async () => {
    const row = await heldFault('optimizer hung (SIGSTOP)', {
      begin: () => world.process('optimizer').signal('SIGSTOP'),
      until: 202,
      what: 'an upload queued while the optimizer hangs',
      end: () => world.process('optimizer').signal('SIGCONT'),
    });
    expect(row.queued).toBeGreaterThan(0);
  });

  it('optimizer down for a window: everything queued meanwhile is done after it returns', async () => {
    const row = await heldFault('optimizer down (window)', { ...stopped('optimizer'), until: 202, what: 'an upload queued while the optimizer is down' });
    expect(row.queued).toBeGreaterThan(0);
  });

  it('worker killed with SIGKILL while it holds an unacked job: redelivered and done once', async () => {
    const held = await queuedWhileHung(6);
    await waitFor(() => unacked() >= 2, { what: 'both workers holding a job', timeoutMs: 20_000 });
    world.process('worker-1').signal('SIGKILL');
    const cleared = Date.now();
    world.process('optimizer').signal('SIGCONT');
    const more = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT - 6));
    expectClean(await record('worker SIGKILL holding a job', [...held, ...more], await recovered(cleared)));
  });

  it('RabbitMQ killed with kill -9 and restarted: confirmed jobs survive, uploads meanwhile are refused or served', async () => {
    const mark = world.logMark();
    await world.process('optimizer').stop();
    const before = await queuedUploads(8, mark);
    await world.rabbit.kill9();
    // Optimizer and broker both down: nothing can be accepted, and nothing is.
    const during = await Promise.all(seeds(4).map((seed) => sendUpload(world.apiUrl, seed)));
    expectAnswers(during, ['503'], mark);
    await world.rabbit.start();
    world.process('optimizer').start();
    const cleared = Date.now();
    await world.waitAllReady();
    const after = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT - 12));
    expectClean(await record('RabbitMQ kill -9 + restart', [...before, ...during, ...after], await recovered(cleared)));
  });

  it('Redis flushed, then restarted empty: status and images answer from the object store', async () => {
    const first = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT / 2), {
      during: async () => {
        const redis = new Redis(world.redis.url);
        await redis.flushall();
        redis.disconnect();
      },
    });
    let cleared = 0;
    const second = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT / 2), {
      during: async () => {
        await world.redis.restartEmpty();
        cleared = Date.now();
      },
    });
    const row = await record('Redis flushed / restarted empty', [...first, ...second], await recovered(cleared));
    expectClean(row);
    // Every earlier result still answers, from the store.
    for (const r of first.filter((x) => x.status === 200).slice(0, 5)) {
      expect((await fetch(`${world.apiUrl}/image/${r.id ?? r.hash}`)).status).toBe(200);
    }
  });

  it('object store down at upload time: 503, nothing accepted; back: uploads served', async () => {
    const row = await heldFault('object store down at upload', { ...stopped('s3'), until: 503, what: 'an upload refused while the store is down' });
    expect(row.refused).toBeGreaterThan(0);
  });

  it('object store down while the worker processes: the jobs wait and finish when it is back', async () => {
    const queued = await queuedWhileHung(8);
    const requeuedBefore = await requeued();
    await world.process('s3').stop();
    world.process('optimizer').signal('SIGCONT');
    await waitFor(async () => (await requeued()) > requeuedBefore, { timeoutMs: 30_000, what: 'a worker to hand a job back while the store is down' });
    world.process('s3').start();
    const cleared = Date.now();
    expectClean(await record('object store down during processing', queued, await recovered(cleared)));
  });

  it('poison: malformed JSON, missing fields, unknown original and an always-failing image go to the DLQ with reasons', async () => {
    const connection = await world.brokerConnection();
    const channel = await connection.createConfirmChannel();
    const poisonHeaders = { 'x-chaos-poison': true };
    const unknown = 'f'.repeat(64);
    channel.sendToQueue(RETRY_QUEUE, Buffer.from('{not json'), { persistent: true, headers: poisonHeaders });
    channel.sendToQueue(RETRY_QUEUE, Buffer.from(JSON.stringify({ filename: 'x.jpg' })), { persistent: true, headers: poisonHeaders });
    channel.sendToQueue(RETRY_QUEUE, Buffer.from(JSON.stringify({ hash: 5, original_key: ['x'] })), { persistent: true, headers: poisonHeaders });
    channel.sendToQueue(RETRY_QUEUE, Buffer.from(JSON.stringify({ hash: unknown, original_key: `original/${unknown}.jpg`, filename: 'gone.jpg' })), {
      persistent: true,
      headers: poisonHeaders,
    });
    channel.sendToQueue(RETRY_QUEUE, Buffer.alloc(1024 * 1024, 0x7b), { persistent: true, headers: poisonHeaders });
    await channel.waitForConfirms();
    // The workers dead-letter the five first (the 1 MB one is written to disk twice): the upload
    // below must not compete with that for the broker's confirms, which it would wait up to
    // PUBLISH_CONFIRM_TIMEOUT_MS for, then answer 503 unconfirmed on a loaded machine.
    const inspect = await connection.createChannel();
    await waitFor(async () => (await inspect.checkQueue(DEAD_LETTER_QUEUE)).messageCount >= 5, { what: 'the five poison messages in the DLQ' });
    await connection.close();
    // An image that always fails: truncated, queued while the optimizer is down.
    await world.process('optimizer').stop();
    const good = await imageFor(nextSeed++);
    const bad = await sendUpload(world.apiUrl, nextSeed++, good.subarray(0, Math.floor(good.length / 2)), true);
    expect(bad.status, `the truncated upload's answer (${bad.problem ?? 'no problem'})`).toBe(202);
    world.process('optimizer').start();
    const cleared = Date.now();
    const records = await uploadUnderLoad(world.apiUrl, seeds(PER_FAULT - 1));
    const row = await record('poison messages', [bad, ...records], await recovered(cleared));
    expectClean(row);
    expect(row.failed).toBe(1);
  });

  it('broker blocked (memory alarm): the api answers 503 at once instead of hanging, then accepts again', async () => {
    await world.process('optimizer').stop();
    world.rabbit.setMemoryAlarm(true);
    // RabbitMQ blocks a connection on its next publish: the one in flight gets "unconfirmed" at once
    // (it may still be enqueued when the alarm clears), the next ones are refused before sending.
    const mark = world.logMark();
    const blocked: UploadRecord[] = [];
    for (const seed of seeds(4)) blocked.push(await sendUpload(world.apiUrl, seed));
    expect(blocked.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    expect(blocked.slice(1).map((r) => r.problem)).toEqual(['unavailable', 'unavailable', 'unavailable']);
    // None of them waited out the confirm timeout: the block released or refused each one.
    // The api logs before it answers, but its stdout reaches this process through a pipe, which can
    // lag behind the HTTP answer: wait for the four lines rather than read the log at once.
    const notConfirmed = () => world.logsSince(mark).filter((l) => l.startsWith('[api] ') && l.includes('job not confirmed'));
    await waitFor(() => notConfirmed().length >= 4, { what: "the api's four 'job not confirmed' log lines" });
    expect(notConfirmed()).toHaveLength(4);
    expect(notConfirmed().filter((l) => l.includes('did not confirm within'))).toEqual([]);
    expect((await fetch(`${world.apiUrl}/readyz`)).status).toBe(503);
    world.rabbit.setMemoryAlarm(false);
    await waitFor(async () => (await fetch(`${world.apiUrl}/readyz`)).status === 200, { what: 'the api ready again' });
    const accepted = await Promise.all(seeds(4).map((seed) => sendUpload(world.apiUrl, seed)));
    expect(accepted.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    world.process('optimizer').start();
    const cleared = Date.now();
    expectClean(await record('broker blocked (memory alarm)', [...blocked, ...accepted], await recovered(cleared)));
  });
});
