/**
 * `--pull INTERVAL`: fast-forwards the repo clone from its upstream, so merging a pull request is
 * the deployment (README.md, "The repo"). Never merges, rebases or resets: a clone that cannot fast-forward
 * (local commits, a dirty tree) is reported and left alone.
 */
import { MlpError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { git } from './git.js';

export interface PullResult {
  from: string;
  to: string;
  /** Paths relative to the repo root that the fast-forward changed. */
  changedFiles: string[];
}

/** Refuses to start pulling when the folder is not a git clone that tracks an upstream branch. */
export async function checkPullable(root: string): Promise<string> {
  try {
    await git(root, 'rev-parse', '--is-inside-work-tree');
  } catch {
    throw new MlpError('usage', `--pull: ${root} is not a git clone (run mlpd on a clone of your pipelines repo, or drop --pull)`);
  }
  try {
    return await git(root, 'rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{u}');
  } catch {
    throw new MlpError('usage', `--pull: the current branch of ${root} has no upstream (git branch --set-upstream-to=origin/main)`);
  }
}

/** One fetch + fast-forward. Returns what changed, or null when already up to date. */
export async function pullOnce(root: string): Promise<PullResult | null> {
  await git(root, 'fetch', '--quiet');
  const from = await git(root, 'rev-parse', 'HEAD');
  const upstream = await git(root, 'rev-parse', '@{u}');
  if (from === upstream) return null;
  try {
    await git(root, 'merge', '--ff-only', '--quiet', '@{u}');
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new MlpError('conflict', `cannot fast-forward ${root} to its upstream: ${stderr || (err as Error).message}`);
  }
  const to = await git(root, 'rev-parse', 'HEAD');
  const changed = await git(root, 'diff', '--name-only', from, to);
  return { from, to, changedFiles: changed ? changed.split('\n') : [] };
}

/** Pulls every `intervalMs`, one pull at a time; failures are logged and retried next time. */
export function startPulling(opts: { root: string; intervalMs: number; log: Logger; onPulled: (result: PullResult) => void }): {
  close(): void;
} {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const result = await pullOnce(opts.root);
      if (result) {
        opts.log.info(
          'pull',
          `fast-forwarded ${result.from.slice(0, 8)}..${result.to.slice(0, 8)} (${result.changedFiles.length} file${result.changedFiles.length === 1 ? '' : 's'} changed)`,
        );
        opts.onPulled(result);
      }
    } catch (err) {
      opts.log.warn('pull', err instanceof MlpError ? err.message : `git pull failed: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  // tick() never rejects (a failed pull is logged) and skips while one runs, so it is started and forgotten.
  const timer = setInterval(() => void tick(), opts.intervalMs);
  void tick();
  return { close: () => clearInterval(timer) };
}
