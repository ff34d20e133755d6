/**
 * What /proc says about processes (Linux). A pid alone does not name a process: the kernel reuses
 * pids, so a process is identified by its pid and its start time (clock ticks after boot, field 22 of
 * /proc/<pid>/stat), which no later process with the same pid can share within one boot.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, Z zombie (ended, not yet waited for), ... */
  state: string;
  /** Process group id: a child the daemon starts leads a group of its own, so pgid = its pid. */
  pgid: number;
  /** Clock ticks after boot at which the process started. */
  startTime: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself hold spaces
 * and parentheses, so the fields after it are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const state = rest[0];
  const pgid = Number(rest[5 - 3]);
  const startTime = Number(rest[22 - 3]);
  if (!state || !Number.isInteger(pgid) || !Number.isInteger(startTime)) return undefined;
  return { pid, state, pgid, startTime };
}

/** The process with this pid now, or undefined when there is none. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every process now, zombies included (they are marked by `state`). */
export function listProcesses(): ProcStat[] {
  const found: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) found.push(stat);
  }
  return found;
}

/** The value of `name` in the environment each process was started with (only our own processes are readable). */
export function envValues(name: string, pids: readonly number[]): Map<number, string> {
  const prefix = `${name}=`;
  const values = new Map<number, string>();
  for (const pid of pids) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // gone, or another user's
    }
    const entry = environ.split('\0').find((e) => e.startsWith(prefix));
    if (entry !== undefined) values.set(pid, entry.slice(prefix.length));
  }
  return values;
}

/** This boot's id: a process recorded under another boot cannot be running any more. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
