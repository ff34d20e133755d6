import type Database from 'better-sqlite3';
import { conflict, MlpError, notFound } from '../../shared/errors.js';
import { newRunId } from './ids.js';

export const RUN_TRIGGERS = ['schedule', 'manual', 'change', 'catch_up'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

const FINISHED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);
export const isFinishedRun = (status: RunStatus): boolean => FINISHED.has(status);

export interface Run {
  /** `r-` + a time-sortable random id; also the steps' MLP_RUN_ID. */
  id: string;
  pipeline: string;
  trigger: RunTrigger;
  /** The cron fire time a scheduled (or caught-up) run belongs to; null for manual and change runs. */
  scheduledFor: number | null;
  status: RunStatus;
  reason: string | null;
  gitCommit: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface EnqueueInput {
  pipeline: string;
  trigger: RunTrigger;
  /** Makes the enqueue idempotent: a second enqueue for the same (pipeline, scheduledFor) finds the first. */
  scheduledFor?: number | null;
  reason?: string | null;
  gitCommit?: string | null;
  at?: number;
}

export interface SetRunStatusOptions {
  reason?: string | null;
  gitCommit?: string | null;
  at?: number;
}

export interface RunRow {
  id: string;
  pipeline: string;
  trigger: RunTrigger;
  scheduled_for: number | null;
  status: RunStatus;
  reason: string | null;
  git_commit: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export const toRun = (r: RunRow): Run => ({
  id: r.id,
  pipeline: r.pipeline,
  trigger: r.trigger,
  scheduledFor: r.scheduled_for,
  status: r.status,
  reason: r.reason,
  gitCommit: r.git_commit,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

type InsertParams = Omit<RunRow, 'status' | 'started_at' | 'finished_at'>;
type StatusParams = { id: string; status: RunStatus; reason: string | null; git_commit: string | null; at: number };

export class RunsRepository {
  private readonly insert: Database.Statement<InsertParams>;
  private readonly selectOne: Database.Statement<[string], RunRow>;
  private readonly selectScheduled: Database.Statement<[string, number], RunRow>;
  private readonly selectRecent: Database.Statement<[string, number], RunRow>;
  private readonly selectLatestSucceeded: Database.Statement<[string], RunRow>;
  private readonly selectActive: Database.Statement<[string], RunRow>;
  private readonly selectAllActive: Database.Statement<[], RunRow>;
  private readonly selectLatestScheduled: Database.Statement<[string], { at: number | null }>;
  private readonly updateStatus: Database.Statement<StatusParams>;
  private readonly enqueueTx: (input: EnqueueInput) => { run: Run; created: boolean };
  private readonly setStatusTx: (id: string, status: RunStatus, options: SetRunStatusOptions) => Run;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    // DO NOTHING without a target covers the partial unique index on (pipeline, scheduled_for) and
    // nothing else can collide, while CHECK and NOT NULL violations still throw (OR IGNORE would hide them).
    this.insert = db.prepare(`
      INSERT INTO runs (id, pipeline, trigger, scheduled_for, status, reason, git_commit, created_at)
      VALUES (:id, :pipeline, :trigger, :scheduled_for, 'queued', :reason, :git_commit, :created_at)
      ON CONFLICT DO NOTHING`);
    this.selectOne = db.prepare('SELECT * FROM runs WHERE id = ?');
    this.selectScheduled = db.prepare('SELECT * FROM runs WHERE pipeline = ? AND scheduled_for = ?');
    this.selectRecent = db.prepare('SELECT * FROM runs WHERE pipeline = ? ORDER BY created_at DESC, rowid DESC LIMIT ?');
    this.selectLatestSucceeded = db.prepare(`
      SELECT * FROM runs WHERE pipeline = ? AND status = 'succeeded' ORDER BY created_at DESC, rowid DESC LIMIT 1`);
    this.selectActive = db.prepare(`
      SELECT * FROM runs WHERE status IN ('queued', 'running') AND pipeline = ? ORDER BY created_at, rowid`);
    this.selectAllActive = db.prepare(`
      SELECT * FROM runs WHERE status IN ('queued', 'running') ORDER BY created_at, rowid`);
    this.selectLatestScheduled = db.prepare('SELECT max(scheduled_for) AS at FROM runs WHERE pipeline = ?');
    this.updateStatus = db.prepare(`
      UPDATE runs SET
        status = :status,
        reason = coalesce(:reason, reason),
        git_commit = coalesce(:git_commit, git_commit),
        started_at = CASE WHEN :status = 'running' THEN coalesce(started_at, :at) ELSE started_at END,
        finished_at = CASE WHEN :status IN ('succeeded', 'failed', 'cancelled', 'skipped') THEN :at ELSE NULL END
      WHERE id = :id`);

    this.enqueueTx = db.transaction((input: EnqueueInput) => {
      const at = input.at ?? this.now();
      const id = newRunId(at);
      const scheduledFor = input.scheduledFor ?? null;
      const { changes } = this.insert.run({
        id,
        pipeline: input.pipeline,
        trigger: input.trigger,
        scheduled_for: scheduledFor,
        reason: input.reason ?? null,
        git_commit: input.gitCommit ?? null,
        created_at: at,
      });
      if (changes === 1) return { run: toRun(this.selectOne.get(id)!), created: true };
      const existing = scheduledFor === null ? undefined : this.selectScheduled.get(input.pipeline, scheduledFor);
      if (!existing) throw new MlpError('internal', `run ${id} was neither inserted nor found`);
      return { run: toRun(existing), created: false };
    });
    this.setStatusTx = db.transaction((id: string, status: RunStatus, options: SetRunStatusOptions) => {
      const before = this.selectOne.get(id);
      if (!before) throw notFound(`run ${id} does not exist`);
      if (isFinishedRun(before.status)) throw conflict(`run ${id} already ${before.status}; it cannot become ${status}`);
      this.updateStatus.run({
        id,
        status,
        reason: options.reason ?? null,
        git_commit: options.gitCommit ?? null,
        at: options.at ?? this.now(),
      });
      return toRun(this.selectOne.get(id)!);
    });
  }

  /** Queues a run. `created` is false when a run for the same (pipeline, scheduledFor) already exists. */
  enqueue(input: EnqueueInput): { run: Run; created: boolean } {
    return this.enqueueTx(input);
  }

  get(id: string): Run | undefined {
    const row = this.selectOne.get(id);
    return row && toRun(row);
  }

  /** The newest runs of a pipeline, newest first. */
  listRecent(pipeline: string, limit: number): Run[] {
    return this.selectRecent.all(pipeline, limit).map(toRun);
  }

  /** The newest run of a pipeline that succeeded (what its cost estimate is about), if any. */
  latestSucceeded(pipeline: string): Run | undefined {
    const row = this.selectLatestSucceeded.get(pipeline);
    return row && toRun(row);
  }

  /** Queued and running runs, oldest first: of one pipeline, or of all (to resume after a restart). */
  active(pipeline?: string): Run[] {
    return (pipeline === undefined ? this.selectAllActive.all() : this.selectActive.all(pipeline)).map(toRun);
  }

  /** The latest cron fire time a run was enqueued for; where catch-up starts after downtime. */
  latestScheduledFor(pipeline: string): number | null {
    return this.selectLatestScheduled.get(pipeline)?.at ?? null;
  }

  /**
   * Moves a run on: `running` stamps startedAt (once), a finished status stamps finishedAt. A finished
   * run is final (conflict). `reason` and `gitCommit` are kept when not given.
   */
  setStatus(id: string, status: RunStatus, options: SetRunStatusOptions = {}): Run {
    return this.setStatusTx(id, status, options);
  }
}
