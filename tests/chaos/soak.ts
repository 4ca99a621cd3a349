/**
 * Faults under load: thousands of uploads while the optimizer is killed every few seconds and the
 * broker is killed and restarted once, then the ledger. `npm run chaos:soak` runs 10 000 uploads
 * (bounded to about 10 minutes); CI runs a shorter one through tests/chaos/soak.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.js';
import { DoneEvents, printLedger, sendUpload, settle, type LedgerRow, type UploadRecord } from './ledger.js';
import { ChaosWorld } from './world/chaos-world.js';

export interface SoakOptions {
  uploads: number;
  concurrency: number;
  killOptimizerEveryMs: number;
  /** Stop sending new uploads after this long, whatever the count (bounds the long run); default: none. */
  maxSendMs?: number;
  log?: (line: string) => void;
}

export async function runSoak(options: SoakOptions): Promise<LedgerRow> {
  const maxSendMs = options.maxSendMs ?? Number.POSITIVE_INFINITY;
  const log = options.log ?? ((line: string) => console.log(line));
  const world = new ChaosWorld({ workers: 2 });
  await world.start();
  const events = new DoneEvents(world.rabbit.url);
  await events.start();
  const records: UploadRecord[] = [];
  const started = Date.now();
  let sent = 0;
  let kills = 0;
  let brokerRestarted = false;
  let lastClear = started;
  try {
    const killer = setInterval(() => {
      world.process('optimizer').signal('SIGKILL');
      kills += 1;
      lastClear = Date.now();
    }, options.killOptimizerEveryMs);
    const brokerRestart = (async () => {
      await waitFor(() => sent >= options.uploads / 2 || Date.now() - started >= maxSendMs / 2, {
        timeoutMs: Number.POSITIVE_INFINITY,
        intervalMs: 100,
        what: 'half the uploads sent',
      });
      await world.rabbit.kill9();
      // Down until the api has seen it go (its readiness names the broker), then back.
      await waitFor(async () => (await fetch(`${world.apiUrl}/readyz`)).status === 503, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: 'the api to see the broker gone',
      });
      await world.rabbit.start();
      brokerRestarted = true;
      lastClear = Date.now();
    })();
    const progress = setInterval(() => log(`soak: ${sent}/${options.uploads} sent, ${kills} optimizer kills, broker restarted: ${brokerRestarted}`), 10_000);
    const lane = async () => {
      while (sent < options.uploads && Date.now() - started < maxSendMs) {
        const seed = 1_000_000 + sent++;
        records.push(await sendUpload(world.apiUrl, seed));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, lane));
    await brokerRestart;
    clearInterval(killer);
    clearInterval(progress);
    await world.waitAllReady();
    const recoverySeconds = (Date.now() - lastClear) / 1000;
    const row = await settle(records, {
      fault: `soak: optimizer SIGKILL every ${options.killOptimizerEveryMs / 1000} s (${kills}x) + broker kill -9`,
      apiUrl: world.apiUrl,
      store: world.store,
      brokerUrl: world.rabbit.url,
      events,
      recoverySeconds,
      timeoutMs: 10 * 60_000,
      stallMs: 60_000,
    });
    log(`soak: ${records.length} uploads in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    printLedger([row]);
    // The services log at warn, so their last lines are the warnings and errors that explain a violation.
    if (row.violations.length > 0) log(`${row.violations.slice(0, 30).join('\n')}\n${world.logs.slice(-60).join('\n')}`);
    return row;
  } finally {
    await events.stop();
    await world.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const row = await runSoak({
    uploads: Number(process.env.SOAK_UPLOADS ?? 10_000),
    concurrency: Number(process.env.SOAK_CONCURRENCY ?? 8),
    killOptimizerEveryMs: Number(process.env.SOAK_KILL_EVERY_MS ?? 4_000),
    maxSendMs: Number(process.env.SOAK_MAX_SEND_MS ?? 9 * 60_000),
  });
  process.exit(row.lost === 0 && row.violations.length === 0 ? 0 : 1);
}
