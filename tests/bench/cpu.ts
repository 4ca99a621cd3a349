/**
 * Process accounting for the bench, read from /proc: CPU time and peak memory of a process, the
 * machine's busy time, and a meter that says where the CPU of a measured window went.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Resident set of a process now and its peak since start (or since `resetPeak`), in MB. */
export function rss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Resets a process's peak RSS (VmHWM) to its current RSS: Linux `clear_refs` 5. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second here).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The shared daemons the bench does not start (Redis, RabbitMQ's Erlang VM): their CPU counts in every figure too. */
export function daemonPids(): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const [name, executable] of [
    ['redis', 'redis-server'],
    ['rabbitmq', 'beam.smp'],
  ] as const) {
    try {
      const pid = Number(
        execFileSync('pgrep', ['-o', '-x', executable], { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim(),
      );
      if (pid > 0) pids[name] = pid;
    } catch {
      // not running on this machine: left out of the accounting
    }
  }
  return pids;
}

/**
 * Where the CPU goes during one measured window: CPU time of named processes (a name may stand for
 * several, such as the workers), read from /proc before and after, as milliseconds per unit of work.
 */
export class CpuMeter {
  private readonly before: Record<string, number>;

  constructor(private readonly processes: Record<string, number | number[]>) {
    this.before = this.read();
  }

  private read(): Record<string, number> {
    const used: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.processes)) {
      used[name] = [pids].flat().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    }
    return used;
  }

  /** CPU milliseconds per unit (an image, a request, a job) for each process since the meter started. */
  perUnit(units: number): Record<string, number> {
    const after = this.read();
    return Object.fromEntries(Object.keys(after).map((name) => [name, ((after[name]! - this.before[name]!) * 1000) / units]));
  }
}

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/**
 * A full garbage collection of this process, before a measured window: the previous phase's
 * hundreds of MB of bodies are freed now, not during the next measurement, where the load
 * generator would take that CPU from the services.
 */
export function collectGarbage(): void {
  fullGc();
}

/** Machine-wide busy CPU seconds so far (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
}

/** The CPUs a process may run on, in taskset's list form ("0,1", "0-3"). */
export function affinity(pid: number): string {
  const out = execFileSync('taskset', ['-pc', String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const list = /affinity list:\s*(\S+)/.exec(out)?.[1];
  if (!list) throw new Error(`taskset gave no affinity for ${pid}: ${out.trim()}`);
  return list;
}

/** Keeps every thread of a process (libvips', the Erlang schedulers) on `cpus`. */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Places processes on cores for one measured window, as separate nodes or CPU limits would, and
 * puts each back where it was. `placement` maps a CPU list to the processes that run there.
 */
export async function placed<T>(placement: Record<string, number[]>, measure: () => Promise<T>): Promise<T> {
  const before = new Map<number, string>();
  try {
    for (const [cpus, pids] of Object.entries(placement)) {
      for (const pid of pids) {
        if (!before.has(pid)) before.set(pid, affinity(pid));
        pin(pid, cpus);
      }
    }
    return await measure();
  } finally {
    for (const [pid, cpus] of before) {
      try {
        pin(pid, cpus);
      } catch {
        // the process is gone: nothing to put back
      }
    }
  }
}
