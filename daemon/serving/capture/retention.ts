/**
 * Keeping the capture folder bounded: hour folders past the retention period are deleted, and when the
 * folder holds more than `maxBytes`, the oldest files go first until it is back under 90% of it (so a full
 * folder is not swept on every batch). Files a writer has open are never touched.
 *
 * A sweep also repairs the files a killed writer left behind: a file whose last line was cut short by a
 * `kill -9` mid-write is truncated after its last complete line, so no tool reading the folder trips on it.
 */
import { open, rm, rmdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { HOUR, hourStart } from './layout.js';
import { dirs, entries } from './fs.js';

export interface CaptureRetention {
  /** Hour folders whose whole hour is older than this many days are deleted. */
  days: number;
  /** The folder is kept under this many bytes, oldest files deleted first. */
  maxBytes: number;
}

export interface SweepResult {
  /** Bytes of capture files left. */
  bytes: number;
  files: number;
  deletedFiles: number;
  deletedBytes: number;
  repairedFiles: number;
}

/** The share of `maxBytes` a size-triggered sweep brings the folder down to. */
const SWEEP_TARGET = 0.9;
const DAY = 86_400_000;

interface HourDir {
  path: string;
  start: number;
  bytes: number;
  files: number;
  newestMtime: number;
}

/**
 * One pass over `<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`. `isOpen(path)` says whether a writer
 * has the file open. `repairSince` (epoch ms): files modified since then are checked for a cut-short last
 * line (the files open when a writer died are the newest ones); null skips the repair.
 */
export async function sweepCapture(opts: {
  root: string;
  retention: CaptureRetention;
  now: number;
  isOpen: (path: string) => boolean;
  repairSince: ((newestMtime: number) => number) | null;
}): Promise<SweepResult> {
  const { root, retention, now, isOpen } = opts;
  const result: SweepResult = { bytes: 0, files: 0, deletedFiles: 0, deletedBytes: 0, repairedFiles: 0 };
  const hours = await hourDirs(root);
  const expiredBefore = now - retention.days * DAY;
  const kept: HourDir[] = [];
  for (const h of hours) {
    if (h.start + HOUR <= expiredBefore) {
      const r = await deleteHour(h, isOpen);
      result.deletedFiles += r.files;
      result.deletedBytes += r.bytes;
      if (r.keptBytes > 0) kept.push({ ...h, bytes: r.keptBytes, files: h.files - r.files });
    } else {
      kept.push(h);
    }
  }
  let total = kept.reduce((n, h) => n + h.bytes, 0);
  if (total > retention.maxBytes) {
    const target = retention.maxBytes * SWEEP_TARGET;
    kept.sort((a, b) => a.start - b.start);
    // Whole hours first (oldest first); the hour that straddles the target is thinned file by file, across variants.
    for (let i = 0; i < kept.length && total > target;) {
      const start = kept[i]!.start;
      const same: HourDir[] = [];
      while (i < kept.length && kept[i]!.start === start) same.push(kept[i++]!);
      const files = (await Promise.all(same.map(filesOf))).flat().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const f of files) {
        if (total <= target) break;
        if (isOpen(f.path)) continue;
        if (await remove(f.path)) {
          total -= f.size;
          result.deletedFiles++;
          result.deletedBytes += f.size;
          const h = same.find((d) => f.path.startsWith(d.path + '/'))!;
          h.bytes -= f.size;
          h.files--;
        }
      }
      for (const h of same) if (h.files === 0) await removeEmptyUp(h.path, root);
    }
  }
  if (opts.repairSince) {
    const newest = kept.reduce((m, h) => Math.max(m, h.newestMtime), 0);
    const since = opts.repairSince(newest);
    for (const h of kept) {
      if (h.files === 0 || h.newestMtime < since) continue;
      for (const f of await filesOf(h)) {
        if (f.mtime >= since && f.size > 0 && !isOpen(f.path)) {
          const cut = await repairTail(f.path, f.size);
          if (cut > 0) {
            result.repairedFiles++;
            total -= cut;
          }
        }
      }
    }
  }
  result.bytes = total;
  result.files = kept.reduce((n, h) => n + h.files, 0);
  return result;
}

/** Every hour folder under the root, with the bytes and count of its files. */
async function hourDirs(root: string): Promise<HourDir[]> {
  const out: HourDir[] = [];
  for (const endpoint of await dirs(root)) {
    for (const variant of await dirs(join(root, endpoint))) {
      const base = join(root, endpoint, variant);
      for (const y of await dirs(base)) {
        for (const m of await dirs(join(base, y))) {
          for (const d of await dirs(join(base, y, m))) {
            for (const hh of await dirs(join(base, y, m, d))) {
              const start = hourStart(y, m, d, hh);
              if (start === null) continue;
              const path = join(base, y, m, d, hh);
              const h: HourDir = { path, start, bytes: 0, files: 0, newestMtime: 0 };
              for (const f of await filesOf(h)) {
                h.bytes += f.size;
                h.files++;
                h.newestMtime = Math.max(h.newestMtime, f.mtime);
              }
              out.push(h);
            }
          }
        }
      }
    }
  }
  return out;
}

/** The capture files of an hour folder (`*.jsonl`), with their sizes. */
async function filesOf(h: { path: string }): Promise<{ path: string; name: string; size: number; mtime: number }[]> {
  const names = (await entries(h.path)).filter((e) => e.isFile() && e.name.endsWith('.jsonl')).map((e) => e.name);
  const stats = await Promise.all(
    names.map(async (name) => {
      const path = join(h.path, name);
      try {
        const st = await stat(path);
        return { path, name, size: st.size, mtime: st.mtimeMs };
      } catch {
        return null; // deleted meanwhile
      }
    }),
  );
  return stats.filter((s) => s !== null);
}

async function deleteHour(h: HourDir, isOpen: (path: string) => boolean) {
  const files = await filesOf(h);
  const open = files.filter((f) => isOpen(f.path));
  if (open.length === 0) {
    await rm(h.path, { recursive: true, force: true });
    await removeEmptyUp(join(h.path, '..'), join(h.path, '../../../../../..'));
    return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), keptBytes: 0 };
  }
  let n = 0;
  let bytes = 0;
  for (const f of files) {
    if (isOpen(f.path) || !(await remove(f.path))) continue;
    n++;
    bytes += f.size;
  }
  return { files: n, bytes, keptBytes: open.reduce((s, f) => s + f.size, 0) };
}

/** Removes `dir` and its parents while they are empty, stopping at `stop` (exclusive). */
async function removeEmptyUp(dir: string, stop: string): Promise<void> {
  const end = join(stop);
  for (let d = join(dir); d !== end && d.startsWith(end); d = join(d, '..')) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or a writer just made it): leave it
    }
  }
}

/** Cuts a file after its last newline; returns the bytes cut. */
async function repairTail(path: string, size: number): Promise<number> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return 0;
  try {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let end = size;
    let first = true;
    while (end > 0) {
      const from = Math.max(0, end - chunk.length);
      const { bytesRead } = await fh.read(chunk, 0, end - from, from);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (first && nl === bytesRead - 1) return 0; // ends with a whole line
      first = false;
      if (nl >= 0) {
        await truncate(path, from + nl + 1);
        return size - (from + nl + 1);
      }
      end = from;
    }
    await truncate(path, 0);
    return size;
  } finally {
    await fh.close();
  }
}

async function remove(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch {
    return false;
  }
}
