import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sleep } from '../stats.js';

/** Linux's USER_HZ: `/proc/<pid>/stat` counts CPU time in ticks of 10 ms on every architecture. */
const ticksPerSecond = 100;

/** CPU time (user + system, all threads) a process has used so far, in ms (10 ms resolution). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat`);
  return ((utime + stime) * 1000) / ticksPerSecond;
}

/** Resident set size of a process in MB (`VmRSS` in `/proc/<pid>/status`, Linux only). */
export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` returns the maximum seen. */
export function sampleRss(pid: number, everyMs: number): { stop(): number } {
  let max = readRssMb(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, readRssMb(pid));
    } catch {
      // the process exited; keep the maximum seen so far
    }
  }, everyMs);
  // Never the reason the process stays up if a run fails before `stop()`.
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
  };
}

/**
 * RSS of a Node process that loaded nothing, sampled after the same settling time as the daemon:
 * the floor any Node daemon pays on this machine and Node version.
 */
export async function bareNodeRssMb(settleMs: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await sleep(settleMs);
    if (child.pid === undefined) throw new Error('could not start a bare node process');
    return readRssMb(child.pid);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
