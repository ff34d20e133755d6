/**
 * Notices changes to the pipeline configs under a repo folder.
 *
 * fs.watch gives fast notice but can miss events (new sub-folders, network file systems,
 * editors that replace files), so a periodic fingerprint check backs it up: the reload is only
 * triggered when the set of config files, or one's size or mtime, actually changed.
 */
import { watch, statSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { findPipelineFiles } from '../../shared/repo/discover.js';

export interface RepoWatcher {
  /** Check now (after a git pull, say) instead of waiting for the next tick. */
  poke(): void;
  close(): void;
}

export function watchRepo(
  root: string,
  onChange: () => void,
  opts: { debounceMs?: number; rescanMs?: number; onError?: (err: Error) => void } = {},
): RepoWatcher {
  const debounceMs = opts.debounceMs ?? 250;
  let last = fingerprint(root);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const check = () => {
    timer = undefined;
    if (closed) return;
    const now = fingerprint(root);
    if (now !== last) {
      last = now;
      onChange();
    }
  };
  const schedule = () => {
    if (!closed && !timer) timer = setTimeout(check, debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(root, { recursive: true }, (_event, name) => {
      if (name && /(^|[\\/])(node_modules|\.git)([\\/]|$)/.test(name)) return;
      schedule();
    });
    watcher.on('error', (err) => opts.onError?.(err));
  } catch (err) {
    // Recursive watching is not available everywhere; the periodic check still works.
    opts.onError?.(err as Error);
  }
  const interval = setInterval(schedule, opts.rescanMs ?? 2000);
  interval.unref();

  return {
    poke: schedule,
    close() {
      closed = true;
      clearInterval(interval);
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** Paths, sizes and mtimes of every config file: changes whenever a reload could change anything. */
function fingerprint(root: string): string {
  const files = [join(root, 'mlp.yaml'), ...findPipelineFiles(root)];
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${f}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:-`;
      }
    })
    .join('\n');
}
