/**
 * Reading captured traffic back for replay (issue 5): the requests of one pipeline's group, newest first,
 * from mlp's own records and from plain SageMaker Data Capture records alike (docs/serving.md, "Data Capture").
 *
 * Hours are read newest first, and inside an hour, files by their last-modified time: a record is written
 * after its request arrived, so a file modified at T holds nothing newer than T. Once `limit` records newer
 * than every unread file are in hand, reading stops, so taking the last 10,000 requests does not read a
 * month of traffic.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inside } from '../../data-paths.js';
import { parseCaptureLine, type CapturedRequest } from './format.js';
import { captureEndpoint, HOUR, hourStart } from './layout.js';
import { dirs, entries } from './fs.js';

export type { CapturedRequest } from './format.js';

export interface ReadCaptureOptions {
  /** `<data dir>/capture` (or a local copy of `s3://<bucket>/mlp/capture`). */
  dir: string;
  pipeline: string;
  group: string;
  /** Only requests that arrived at or after this time (epoch ms). */
  sinceMs: number;
  /** ... and before or at this one. Default: no bound. */
  untilMs?: number;
  /** At most this many requests: the newest ones. */
  limit: number;
}

export interface CaptureReadStats {
  files: number;
  lines: number;
  /** Lines that are not capture records (not JSON, or no input side to replay); skipped. */
  malformed: number;
  /** A last line without its newline (a writer stopped mid-line); skipped. */
  partial: number;
}

export interface CaptureReader extends AsyncIterable<CapturedRequest> {
  /** Filled in as the iteration goes. */
  readonly stats: CaptureReadStats;
}

/** A record's time never exceeds its file's modification time by more than this (clock steps). */
const MTIME_SLACK_MS = 5_000;
const DAY = 86_400_000;

/** The captured requests of `pipeline`/`group`, newest first (by arrival time), at most `limit`. */
export function readCapture(opts: ReadCaptureOptions): CaptureReader {
  const stats: CaptureReadStats = { files: 0, lines: 0, malformed: 0, partial: 0 };
  return { stats, [Symbol.asyncIterator]: () => newestFirst(opts, stats) };
}

interface HourFolder {
  start: number;
  path: string;
  variant: string;
}

async function* newestFirst(opts: ReadCaptureOptions, stats: CaptureReadStats): AsyncGenerator<CapturedRequest> {
  const until = opts.untilMs ?? Infinity;
  let remaining = Math.floor(opts.limit);
  if (remaining <= 0 || opts.sinceMs > until) return;
  const hours = await hourFolders(inside(opts.dir, captureEndpoint(opts.pipeline, opts.group)), opts.sinceMs, until);
  const starts = [...new Set(hours.map((h) => h.start))].sort((a, b) => b - a);
  const keep = (r: CapturedRequest) =>
    r.at >= opts.sinceMs &&
    r.at <= until &&
    (r.pipeline === null || r.pipeline === opts.pipeline) &&
    (r.group === null || r.group === opts.group);

  for (const start of starts) {
    const files = (await Promise.all(hours.filter((h) => h.start === start).map(filesNewestFirst))).flat();
    files.sort((a, b) => b.bound - a.bound);
    let found: CapturedRequest[] = [];
    let done = false;
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      for (const r of await readFileRecords(f.path, f.variant, stats)) if (keep(r)) found.push(r);
      if (found.length >= remaining) {
        found = newest(found, remaining);
        const next = files[i + 1];
        if (!next || found[found.length - 1]!.at >= next.bound) {
          done = true;
          break;
        }
      }
    }
    for (const r of newest(found, remaining)) {
      yield r;
      remaining--;
    }
    if (done || remaining <= 0) return;
  }
}

/** The `n` newest, newest first; records of the same time keep their file order. */
function newest(records: CapturedRequest[], n: number): CapturedRequest[] {
  return records.sort((a, b) => b.at - a.at).slice(0, n);
}

/** Hour folders of every variant of the endpoint that may hold requests in [since, until]. */
async function hourFolders(endpointDir: string, since: number, until: number): Promise<HourFolder[]> {
  const out: HourFolder[] = [];
  for (const variant of await dirs(endpointDir)) {
    const base = join(endpointDir, variant);
    for (const y of await dirs(base)) {
      for (const m of await dirs(join(base, y))) {
        for (const d of await dirs(join(base, y, m))) {
          const day = Date.UTC(Number(y), Number(m) - 1, Number(d));
          if (day + DAY <= since || day > until) continue;
          for (const hh of await dirs(join(base, y, m, d))) {
            const start = hourStart(y, m, d, hh);
            if (start === null || start + HOUR <= since || start > until) continue;
            out.push({ start, path: join(base, y, m, d, hh), variant });
          }
        }
      }
    }
  }
  return out;
}

/** The files of an hour folder with the newest time a record in them can have. */
async function filesNewestFirst(h: HourFolder): Promise<{ path: string; variant: string; bound: number }[]> {
  const end = h.start + HOUR;
  const names = (await entries(h.path)).filter((e) => e.isFile() && e.name.endsWith('.jsonl')).map((e) => e.name);
  const files = await Promise.all(
    names.map(async (name) => {
      const path = join(h.path, name);
      const st = await stat(path).catch(() => null);
      if (!st) return null;
      // A modification time before the hour began means clocks disagree: fall back to the hour's end.
      const bound = st.mtimeMs < h.start ? end : Math.min(end, st.mtimeMs + MTIME_SLACK_MS);
      return { path, variant: h.variant, bound };
    }),
  );
  return files.filter((f) => f !== null);
}

async function readFileRecords(path: string, variant: string, stats: CaptureReadStats): Promise<CapturedRequest[]> {
  const buf = await readFile(path).catch(() => null);
  if (!buf) return [];
  stats.files++;
  const out: CapturedRequest[] = [];
  let start = 0;
  while (start < buf.length) {
    let nl = buf.indexOf(0x0a, start);
    const last = nl < 0;
    if (last) nl = buf.length;
    if (nl > start) {
      const r = parseCaptureLine(buf.toString('utf8', start, nl), variant);
      // A last line without its newline is a record cut short by a writer that stopped, unless it parses whole.
      if (r) out.push(r);
      else if (last) stats.partial++;
      else stats.malformed++;
      if (r || !last) stats.lines++;
    }
    start = nl + 1;
  }
  return out;
}
