/** The few git questions the daemon asks, through the git command line. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs git in `root`; resolves with trimmed stdout, rejects with git's error. */
export async function git(root: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', root, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The commit checked out in `dir`, or null when it is not in a git clone (or has no commit yet). */
export async function headCommit(dir: string): Promise<string | null> {
  try {
    return await git(dir, 'rev-parse', 'HEAD');
  } catch {
    return null;
  }
}
