/**
 * Data Capture (docs/serving.md, "Data Capture"): every invocation the router hands over becomes a
 * SageMaker Data Capture record in `<dir>/<pipeline>--<group>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`.
 *
 * `record()` is on the request path: it only queues the invocation (its buffers, not copies). Batches are
 * serialised and appended off that path, one write per file per batch, when `flushIntervalMs` has passed or
 * `maxBatchBytes` are queued. When the disk falls behind, the queue is capped at `maxQueueBytes`: further
 * records are dropped and counted, never buffered without bound.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inside } from '../../data-paths.js';
import type { Logger } from '../../log.js';
import { CaptureLines, mlpIdentity } from './format.js';
import { captureEndpoint, captureFileName, captureVariant, HOUR, hourFolder } from './layout.js';
import { sweepCapture, type CaptureRetention } from './retention.js';
import type { CaptureSink, Invocation } from '../types.js';
import { systemClock, type WallClock } from '../../scheduler/clock.js';

export type { CaptureRetention } from './retention.js';

export interface CaptureWriterOptions {
  /** `<data dir>/capture`. */
  dir: string;
  retention: CaptureRetention;
  /** Times retention sweeps, size sweeps and outage reports. Default: the system clock. */
  clock?: WallClock;
  /** How long a record may wait in memory before it is written (the crash-loss bound). Default 200 ms. */
  flushIntervalMs?: number;
  /** A batch is written early once this many bytes are queued; also the most one write batch serialises (an event-loop stall of well under a millisecond). Default 256 KiB. */
  maxBatchBytes?: number;
  /** Records waiting or being written may hold at most this many bytes of bodies; beyond, records are dropped. Default 64 MiB. */
  maxQueueBytes?: number;
  /** A file is closed and a new one started past this size. Default 16 MiB. */
  maxFileBytes?: number;
  /** ... or this age. Default 10 minutes. */
  maxFileAgeMs?: number;
  /** How often retention runs (it also runs at start, and whenever the folder outgrows `maxBytes`). Default 10 minutes. */
  retentionIntervalMs?: number;
  /** Whether this writer runs retention; false in router workers, whose files the daemon's writer sweeps. Default true. */
  sweeps?: boolean;
  /** I/O failures (a failed write loses that batch; the next batch starts a new file). */
  onError?: (err: Error) => void;
  /** Where dropped records and retention sweeps are reported. */
  log?: Logger;
}

export interface CaptureStats {
  /** Accepted by `record()`. */
  recorded: number;
  /** Written to files. */
  written: number;
  /** Refused because the queue was full (the disk is slower than traffic) or the writer was closed. */
  dropped: number;
  /** Lost to write errors. */
  failed: number;
  /** Waiting or being written. */
  queued: number;
  queuedBytes: number;
  bytesWritten: number;
  openFiles: number;
  /** Bytes in the capture folder, as of the last sweep plus what was written since. */
  diskBytes: number;
  deletedFiles: number;
  repairedFiles: number;
  lastSweepAt: number | null;
  lastError: string | null;
}

export interface CaptureWriter extends CaptureSink {
  /** Resolves once every record accepted before the call is on disk (or counted as failed). */
  flush(): Promise<void>;
  /** Writes what is queued, closes the files; later records are dropped. */
  close(): Promise<void>;
  stats(): CaptureStats;
}

/** What a queued record is charged against `maxQueueBytes` beyond its bodies (the Invocation and its strings). */
const RECORD_OVERHEAD = 256;
/** Serialised size of a record beyond its bodies, for sizing batches before serialising them. */
const LINE_OVERHEAD = 600;
const DROP_REPORT_MS = 10_000;
/** While writes keep failing (a full disk), how often the count of lost records is said again. */
const OUTAGE_REPORT_MS = 60_000;
/**
 * An outage ends with a write that succeeds this long after the last failure: on a nearly full disk
 * a failed write frees its blocks and the next small one may fit, which is not a recovery.
 */
const OUTAGE_QUIET_MS = 10_000;
const SIZE_SWEEP_EVERY_MS = 10_000;

/** One (pipeline, group, variant): its folders, the `mlp` identity fragment, its open files by hour. */
interface Stream {
  dir: string;
  identity: Buffer;
  pending: Invocation[];
  files: Map<number, OpenFile>;
}

interface OpenFile {
  path: string;
  handle: FileHandle;
  size: number;
  openedAt: number;
}

interface Region {
  stream: Stream;
  hour: number;
  start: number;
  end: number;
  count: number;
}

export function createCaptureWriter(opts: CaptureWriterOptions): CaptureWriter {
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const flushIntervalMs = opts.flushIntervalMs ?? 200;
  const maxBatchBytes = opts.maxBatchBytes ?? 256 * 1024;
  const maxQueueBytes = opts.maxQueueBytes ?? 64 * 1024 ** 2;
  const maxFileBytes = opts.maxFileBytes ?? 16 * 1024 ** 2;
  const maxFileAgeMs = opts.maxFileAgeMs ?? 600_000;
  const retentionIntervalMs = opts.retentionIntervalMs ?? 600_000;
  const sweeps = opts.sweeps ?? true;
  const writerId = randomBytes(4).toString('hex');
  let fileSeq = 0;

  const s = {
    recorded: 0,
    written: 0,
    dropped: 0,
    failed: 0,
    queuedBytes: 0,
    bytesWritten: 0,
    diskBytes: 0,
    deletedFiles: 0,
    repairedFiles: 0,
    lastSweepAt: null as number | null,
    lastError: null as string | null,
  };
  let queue: Invocation[] = [];
  let spare: Invocation[] = [];
  let inFlight = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let draining: Promise<void> | null = null;
  let sweeping: Promise<void> | null = null;
  let lastSizeSweep = -Infinity;
  let droppedSinceReport = 0;
  let lastDropReport = -Infinity;
  /** Writes failing since `since`: the first failure is reported, the rest counted (a full disk fails every batch). */
  let outage: { since: number; lost: number; reportedAt: number; lastFailureAt: number } | null = null;
  const lines = new CaptureLines();
  const streams = new Map<string, Map<string, Map<string, Stream>>>();
  const openPaths = new Set<string>();

  const fail = (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    s.lastError = e.message;
    opts.onError?.(e);
  };

  function record(inv: Invocation): void {
    const size = inv.requestBody.length + inv.responseBody.length + RECORD_OVERHEAD;
    if (closed || s.queuedBytes + size > maxQueueBytes) {
      s.dropped++;
      droppedSinceReport++;
      if (!closed) reportDrops();
      return;
    }
    queue.push(inv);
    s.queuedBytes += size;
    s.recorded++;
    if (!draining) schedule();
  }

  /** The next batch goes out when `maxBatchBytes` are waiting, else after the flush interval. */
  function schedule() {
    if (s.queuedBytes >= maxBatchBytes) {
      immediate ??= setImmediate(startDrain);
    } else if (timer === null) {
      timer = setTimeout(startDrain, flushIntervalMs);
      timer.unref();
    }
  }

  function startDrain() {
    if (timer !== null) clearTimeout(timer);
    if (immediate !== null) clearImmediate(immediate);
    timer = null;
    immediate = null;
    void drain(false);
  }

  function reportDrops() {
    const t = now();
    if (t - lastDropReport < DROP_REPORT_MS) return;
    lastDropReport = t;
    const mb = (s.queuedBytes / 1024 ** 2).toFixed(1);
    opts.log?.warn(
      'capture',
      `dropped ${droppedSinceReport} records: the disk is slower than traffic (${mb} MB queued, cap ${(maxQueueBytes / 1024 ** 2).toFixed(0)} MB)`,
    );
    droppedSinceReport = 0;
  }

  /**
   * Writes what is queued. Records that arrive meanwhile are written in the same go only if `all` (flush) or
   * if a full batch of them is waiting: small batches back to back would cost a file write each.
   */
  function drain(all: boolean): Promise<void> {
    if (draining) return draining;
    draining = (async () => {
      try {
        do {
          const batch = queue;
          queue = spare;
          inFlight = batch.length;
          for (let i = 0; i < batch.length;) i = await writeBatch(batch, i);
          batch.length = 0;
          spare = batch;
          inFlight = 0;
        } while (queue.length > 0 && (all || s.queuedBytes >= maxBatchBytes));
      } finally {
        draining = null;
      }
      if (queue.length > 0 && !closed) schedule();
      // A folder over its cap is swept at once, but not after every batch while one file alone keeps it over.
      if (sweeps && s.diskBytes > opts.retention.maxBytes && !(now() - lastSizeSweep < SIZE_SWEEP_EVERY_MS)) {
        lastSizeSweep = now();
        void sweep(false);
      }
    })();
    return draining;
  }

  /** Serialises records `from..` (up to `maxBatchBytes`) grouped by file, and appends each file's lines in one write. */
  async function writeBatch(batch: Invocation[], from: number): Promise<number> {
    const touched: Stream[] = [];
    let to = from;
    let estimate = 0;
    let charged = 0;
    while (to < batch.length && (estimate < maxBatchBytes || to === from)) {
      const inv = batch[to++]!;
      const bodies = inv.requestBody.length + inv.responseBody.length;
      estimate += Math.ceil(bodies * 1.4) + LINE_OVERHEAD;
      charged += bodies + RECORD_OVERHEAD;
      const st = streamOf(inv);
      if (st.pending.length === 0) touched.push(st);
      st.pending.push(inv);
      batch[to - 1] = undefined as unknown as Invocation; // let the bodies go once written
    }
    lines.reset();
    const regions: Region[] = [];
    for (const st of touched) {
      let list = st.pending;
      while (list.length > 0) {
        const hour = Math.floor(list[0]!.at / HOUR);
        const start = lines.length;
        let rest: Invocation[] | null = null;
        let count = 0;
        for (const inv of list) {
          if (Math.floor(inv.at / HOUR) === hour) {
            lines.append(inv, st.identity);
            count++;
          } else {
            (rest ??= []).push(inv);
          }
        }
        regions.push({ stream: st, hour, start, end: lines.length, count });
        list = rest ?? [];
      }
      st.pending.length = 0;
    }
    await Promise.all(regions.map((r) => writeRegion(r)));
    s.queuedBytes -= charged;
    inFlight -= to - from;
    return to;
  }

  async function writeRegion(r: Region): Promise<void> {
    const bytes = lines.bytes(r.start, r.end);
    let file: OpenFile | undefined;
    try {
      file = await fileFor(r.stream, r.hour, bytes.length);
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await file.handle.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      file.size += bytes.length;
      s.written += r.count;
      s.bytesWritten += bytes.length;
      s.diskBytes += bytes.length;
      if (outage && now() - outage.lastFailureAt >= OUTAGE_QUIET_MS) {
        opts.log?.info('capture', `writing again: ${lostSince(outage)}`);
        outage = null;
      }
    } catch (err) {
      s.failed += r.count;
      writeFailed(r.count, err as Error);
      // Never append after a line that may be cut short: cut it off and start a new file next time.
      if (file) {
        await file.handle.truncate(file.size).catch(() => undefined);
        await closeFile(r.stream, r.hour, file);
      }
    }
  }

  function writeFailed(count: number, err: Error): void {
    const t = now();
    if (!outage) {
      outage = { since: t, lost: count, reportedAt: t, lastFailureAt: t };
      fail(new Error(`capture write failed (${count} records lost): ${err.message}; failures are counted until a write succeeds`));
      return;
    }
    outage.lost += count;
    outage.lastFailureAt = t;
    s.lastError = err.message;
    if (t - outage.reportedAt < OUTAGE_REPORT_MS) return;
    outage.reportedAt = t;
    opts.log?.warn('capture', `${err.message}: ${lostSince(outage)}`);
  }

  function lostSince(o: { since: number; lost: number }): string {
    return `${o.lost.toLocaleString('en-US')} record${o.lost === 1 ? '' : 's'} lost since ${new Date(o.since).toLocaleTimeString('en-GB')}`;
  }

  /** The open file for a stream's hour, rotated by size and age; opens one when there is none. */
  async function fileFor(st: Stream, hour: number, adding: number): Promise<OpenFile> {
    const t = now();
    const current = st.files.get(hour);
    if (current) {
      if (current.size === 0 || (current.size + adding <= maxFileBytes && t - current.openedAt < maxFileAgeMs)) return current;
      await closeFile(st, hour, current);
    }
    const path = join(st.dir, hourFolder(hour * HOUR), captureFileName(t, writerId, ++fileSeq));
    let handle: FileHandle;
    try {
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // A retention sweep removed the (empty) folder between mkdir and open.
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a');
    }
    const file = { path, handle, size: 0, openedAt: t };
    st.files.set(hour, file);
    openPaths.add(path);
    return file;
  }

  async function closeFile(st: Stream, hour: number, file: OpenFile): Promise<void> {
    if (st.files.get(hour) === file) st.files.delete(hour);
    try {
      await file.handle.datasync();
    } catch {
      // closing matters more than syncing
    }
    await file.handle.close().catch(fail);
    openPaths.delete(file.path);
  }

  function streamOf(inv: Invocation): Stream {
    let byGroup = streams.get(inv.pipeline);
    if (!byGroup) streams.set(inv.pipeline, (byGroup = new Map()));
    let byVariant = byGroup.get(inv.group);
    if (!byVariant) byGroup.set(inv.group, (byVariant = new Map()));
    let st = byVariant.get(inv.variant);
    if (!st) {
      st = {
        dir: inside(opts.dir, captureEndpoint(inv.pipeline, inv.group), captureVariant(inv.variant)),
        identity: mlpIdentity(inv.pipeline, inv.group, inv.variant),
        pending: [],
        files: new Map(),
      };
      byVariant.set(inv.variant, st);
    }
    return st;
  }

  /** Closes files past their age (so they can be shipped and swept) and forgets streams with nothing open. */
  async function closeAgedFiles(): Promise<void> {
    const t = now();
    for (const [pipeline, byGroup] of streams) {
      for (const [group, byVariant] of byGroup) {
        for (const [variant, st] of byVariant) {
          for (const [hour, file] of st.files) {
            if (t - file.openedAt >= maxFileAgeMs && !draining) await closeFile(st, hour, file);
          }
          // Not while a batch is being written: it may be about to open a file for this stream.
          if (st.files.size === 0 && !draining) byVariant.delete(variant);
        }
        if (byVariant.size === 0) byGroup.delete(group);
      }
      if (byGroup.size === 0) streams.delete(pipeline);
    }
  }

  function sweep(first: boolean): Promise<void> {
    sweeping ??= (async () => {
      const writtenBefore = s.bytesWritten;
      try {
        await mkdir(opts.dir, { recursive: true });
        const r = await sweepCapture({
          root: opts.dir,
          retention: opts.retention,
          now: now(),
          isOpen: (p) => openPaths.has(p),
          // A writer killed mid-write left its newest files open: check what changed in its last file age.
          repairSince: first ? (newest) => newest - maxFileAgeMs - flushIntervalMs - 60_000 : null,
        });
        s.diskBytes = r.bytes + (s.bytesWritten - writtenBefore);
        s.deletedFiles += r.deletedFiles;
        s.repairedFiles += r.repairedFiles;
        s.lastSweepAt = now();
        if (r.deletedFiles > 0) {
          opts.log?.info(
            'capture',
            `retention: deleted ${r.deletedFiles} files (${(r.deletedBytes / 1024 ** 2).toFixed(1)} MB); ${(r.bytes / 1024 ** 2).toFixed(1)} MB kept`,
          );
        }
        if (r.repairedFiles > 0)
          opts.log?.info('capture', `cut the unfinished last line off ${r.repairedFiles} files left by a writer that stopped mid-write`);
      } catch (err) {
        fail(new Error(`capture retention failed: ${(err as Error).message}`));
      } finally {
        sweeping = null;
      }
    })();
    return sweeping;
  }

  if (sweeps) void sweep(true);
  const housekeeping = setInterval(() => void closeAgedFiles().catch(fail), Math.min(maxFileAgeMs, 10_000));
  housekeeping.unref();
  const retentionTimer = sweeps ? setInterval(() => void sweep(false), retentionIntervalMs) : undefined;
  retentionTimer?.unref();

  async function flush(): Promise<void> {
    if (timer !== null || immediate !== null) startDrain();
    while (draining || queue.length > 0) await drain(true);
  }

  return {
    record,
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(housekeeping);
      clearInterval(retentionTimer);
      await flush();
      if (sweeping) await sweeping;
      for (const byGroup of streams.values()) {
        for (const byVariant of byGroup.values()) {
          for (const st of byVariant.values()) for (const [hour, file] of st.files) await closeFile(st, hour, file);
        }
      }
      if (droppedSinceReport > 0) opts.log?.warn('capture', `dropped ${droppedSinceReport} records since the last report`);
    },
    stats() {
      let openFiles = 0;
      for (const byGroup of streams.values())
        for (const byVariant of byGroup.values()) for (const st of byVariant.values()) openFiles += st.files.size;
      return { ...s, queued: queue.length + inFlight, openFiles };
    },
  };
}
