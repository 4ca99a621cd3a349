/** SupervisedProcess with real (tiny) child processes: restarts after a crash, and none once held or stopped. */
import { describe, expect, it } from 'vitest';
import { SupervisedProcess } from '../../../../src/shared/process/supervisor.js';
import { waitFor } from '../../../helpers/wait.js';

/** A child that runs `script` with node, its lines collected. */
function supervised(script: string): { process: SupervisedProcess; lines: string[] } {
  const lines: string[] = [];
  const child = new SupervisedProcess(
    { name: 'child', command: process.execPath, args: ['-e', script], env: {}, output: (_name, line) => lines.push(line) },
    { backoffMs: [50], stopGraceMs: 2_000 },
  );
  return { process: child, lines };
}

describe('SupervisedProcess', () => {
  it('restarts a child that exits by itself', async () => {
    const { process: child, lines } = supervised('console.log("up"); setTimeout(() => process.exit(3), 50)');
    child.start();
    await waitFor(() => lines.filter((l) => l === 'up').length >= 2, { what: 'a second start' });
    expect(lines).toContain('exited (code 3); restarting in 50 ms');
    await child.stop();
  });

  it('restarts nothing once restarts are held, though the child still runs until it exits', async () => {
    const { process: child, lines } = supervised('console.log("up"); process.on("SIGINT", () => process.exit(0)); setInterval(() => undefined, 1000)');
    child.start();
    await waitFor(() => lines.includes('up'), { what: 'the child up' });
    child.holdRestarts();
    expect(child.pid).toBeDefined();
    // What a terminal's Ctrl-C does: the child gets the signal itself and exits 0.
    child.signal('SIGINT');
    // The exit handler that clears the pid is the one that would announce a restart.
    await waitFor(() => child.pid === undefined, { what: 'the child gone' });
    expect(lines.filter((l) => l.includes('restarting'))).toEqual([]);
    await child.stop();
  });

  it('stops a running child with SIGTERM and does not restart it', async () => {
    const { process: child, lines } = supervised(
      'console.log("up"); process.on("SIGTERM", () => { console.log("term"); process.exit(0); }); setInterval(() => undefined, 1000)',
    );
    child.start();
    await waitFor(() => lines.includes('up'), { what: 'the child up' });
    expect(child.stopped).toBe(false);
    await child.stop();
    expect(child.stopped).toBe(true);
    expect(lines).toContain('term');
    expect(child.pid).toBeUndefined();
    expect(lines.filter((l) => l.includes('restarting'))).toEqual([]);
    // start() supervises again after a stop, as the chaos world's restore does.
    child.start();
    expect(child.stopped).toBe(false);
    await waitFor(() => lines.filter((l) => l === 'up').length >= 2, { what: 'the child up again' });
    await child.stop();
  });
});
