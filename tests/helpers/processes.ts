/** Components as real child processes (the built CLI), for tests that kill, stop or hang them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { serviceArgs } from '../../src/shared/service-command.js';
import { waitFor } from './wait.js';

export interface ChildComponent {
  process: ChildProcess;
  output: string[];
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/**
 * Started with the services' own Node flags, as the stack and the image start them; `nodeArgs` go
 * to node as well (e.g. `--cpu-prof`, which NODE_OPTIONS does not accept).
 */
/**
 * Children still running. A test that fails before it stops its child (one left SIGSTOPped, say)
 * must not leave it holding a port for the rest of the run: they go with this test process.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function spawnComponent(command: string, env: Record<string, string>, nodeArgs: string[] = []): ChildComponent {
  const child = spawn(process.execPath, serviceArgs(command, nodeArgs), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  // 'close', not 'exit': it comes once stdout and stderr are drained, so `output` is whole.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { process: child, output, kill: (signal) => child.kill(signal), exited };
}

/** Until `url`/readyz answers 200; if it never does, the error carries its last answer (status and checks). */
export async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  let last = 'no answer';
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${url}/readyz`);
        last = `${res.status} ${await res.text()}`;
        return res.ok;
      },
      { timeoutMs, what: `${url}/readyz` },
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; its last answer: ${last}`, { cause: err });
  }
}
