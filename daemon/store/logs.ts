import type Database from 'better-sqlite3';

export const LOG_STREAMS = ['stdout', 'stderr', 'daemon'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

export interface LogLineInput {
  at: number;
  pipeline: string;
  runId?: string | null;
  step?: string | null;
  group?: string | null;
  stream: LogStream;
  line: string;
}

/** A stored log line; `id` grows with every line and is never reused, so it is a resume cursor. */
export interface LogLine {
  id: number;
  at: number;
  pipeline: string;
  runId: string | null;
  step: string | null;
  group: string | null;
  stream: LogStream;
  line: string;
}

export interface LogQuery {
  pipeline: string;
  /** Only lines at or after this time (epoch ms). */
  sinceMs?: number;
  /** Only lines with a larger id (follow mode: pass the last id seen). */
  afterId?: number;
  runId?: string;
  limit: number;
  /** Which `limit` lines when more match: the oldest (default, for paging forward) or the newest (tail). */
  from?: 'start' | 'end';
}

interface LogRow {
  id: number;
  at: number;
  pipeline: string;
  run_id: string | null;
  step: string | null;
  group_name: string | null;
  stream: LogStream;
  line: string;
}

const toLogLine = (r: LogRow): LogLine => ({
  id: r.id,
  at: r.at,
  pipeline: r.pipeline,
  runId: r.run_id,
  step: r.step,
  group: r.group_name,
  stream: r.stream,
  line: r.line,
});

type QueryParams = { pipeline: string; since: number | null; after: number | null; run: string | null; limit: number };

// Prune in chunks so a large retention sweep never holds the write lock for long.
const PRUNE_CHUNK = 5000;

export class LogsRepository {
  private readonly insert: Database.Statement<Omit<LogRow, 'id'>>;
  private readonly selectFromStart: Database.Statement<QueryParams, LogRow>;
  private readonly selectFromEnd: Database.Statement<QueryParams, LogRow>;
  private readonly deleteChunk: Database.Statement<{ before: number; chunk: number }>;
  private readonly appendTx: (lines: readonly LogLineInput[]) => LogLine[];

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO logs (at, pipeline, run_id, step, group_name, stream, line)
      VALUES (:at, :pipeline, :run_id, :step, :group_name, :stream, :line)`);
    const where = `
      WHERE pipeline = :pipeline
        AND (:since IS NULL OR at >= :since)
        AND (:after IS NULL OR id > :after)
        AND (:run IS NULL OR run_id = :run)`;
    this.selectFromStart = db.prepare(`SELECT * FROM logs ${where} ORDER BY id LIMIT :limit`);
    this.selectFromEnd = db.prepare(`SELECT * FROM (SELECT * FROM logs ${where} ORDER BY id DESC LIMIT :limit) ORDER BY id`);
    this.deleteChunk = db.prepare('DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE at < :before LIMIT :chunk)');

    this.appendTx = db.transaction((lines: readonly LogLineInput[]) =>
      lines.map((l): LogLine => {
        const row = {
          at: l.at,
          pipeline: l.pipeline,
          run_id: l.runId ?? null,
          step: l.step ?? null,
          group_name: l.group ?? null,
          stream: l.stream,
          line: l.line,
        };
        const { lastInsertRowid } = this.insert.run(row);
        return toLogLine({ id: Number(lastInsertRowid), ...row });
      }),
    );
  }

  /** Stores a batch of lines in one transaction and returns them with their ids. */
  append(lines: readonly LogLineInput[]): LogLine[] {
    return lines.length === 0 ? [] : this.appendTx(lines);
  }

  /** A pipeline's lines in id order. */
  query(q: LogQuery): LogLine[] {
    const params: QueryParams = {
      pipeline: q.pipeline,
      since: q.sinceMs ?? null,
      after: q.afterId ?? null,
      run: q.runId ?? null,
      limit: q.limit,
    };
    return (q.from === 'end' ? this.selectFromEnd : this.selectFromStart).all(params).map(toLogLine);
  }

  /** Deletes lines older than `olderThanMs` (an age, measured from now); returns how many went. */
  prune(options: { olderThanMs: number; now?: number }): number {
    const before = (options.now ?? this.now()) - options.olderThanMs;
    let deleted = 0;
    for (;;) {
      const { changes } = this.deleteChunk.run({ before, chunk: PRUNE_CHUNK });
      deleted += changes;
      if (changes < PRUNE_CHUNK) return deleted;
    }
  }
}
