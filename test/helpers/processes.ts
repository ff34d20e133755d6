/** Finding the processes a test started indirectly (model servers the daemon spawned). */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids whose environment has every one of `vars` (e.g. { PORT: '4321' }). */
export function pidsWithEnv(vars: Record<string, string>): number[] {
  const wanted = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (wanted.every((w) => env.includes(w))) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where Linux schedules sessions as groups (autogroups), the CPU priority of the session `pid` is in:
 * what ranks it against the daemon's session. null where sessions are not scheduled as groups (or the process is gone).
 */
export function sessionNice(pid: number): number | null {
  try {
    if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() !== '1') return null;
    const nice = /nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1];
    return nice === undefined ? null : Number(nice);
  } catch {
    return null;
  }
}

/** Why a test of session priorities cannot run here, or false when it can. */
export const noSessionGroups = sessionNice(process.pid) === null && 'this kernel does not schedule sessions as groups';
