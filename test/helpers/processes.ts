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
