import type Database from 'better-sqlite3';
import { conflict, notFound } from '../../shared/errors.js';
import { isForeignKeyViolation } from './sqlite-errors.js';

export const EXECUTORS = ['local', 'docker', 'cloud'] as const;
export type Executor = (typeof EXECUTORS)[number];

export const STEP_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export type FinishedStepStatus = Exclude<StepStatus, 'running'>;

/** One step of a run, for one group. */
export interface StepRun {
  id: number;
  runId: string;
  step: string;
  group: string | null;
  executor: Executor;
  status: StepStatus;
  exitCode: number | null;
  reason: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface StartStepInput {
  runId: string;
  step: string;
  group?: string | null;
  executor: Executor;
  at?: number;
}

export interface FinishStepInput {
  status: FinishedStepStatus;
  exitCode?: number | null;
  reason?: string | null;
  at?: number;
}

export interface StepRunRow {
  id: number;
  run_id: string;
  step: string;
  group_name: string | null;
  executor: Executor;
  status: StepStatus;
  exit_code: number | null;
  reason: string | null;
  started_at: number;
  finished_at: number | null;
}

export const toStepRun = (r: StepRunRow): StepRun => ({
  id: r.id,
  runId: r.run_id,
  step: r.step,
  group: r.group_name,
  executor: r.executor,
  status: r.status,
  exitCode: r.exit_code,
  reason: r.reason,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export class StepRunsRepository {
  private readonly insert: Database.Statement<Pick<StepRunRow, 'run_id' | 'step' | 'group_name' | 'executor' | 'started_at'>, StepRunRow>;
  private readonly finishRow: Database.Statement<Pick<StepRunRow, 'id' | 'status' | 'exit_code' | 'reason' | 'finished_at'>, StepRunRow>;
  private readonly selectOne: Database.Statement<[number], StepRunRow>;
  private readonly selectByRun: Database.Statement<[string], StepRunRow>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO step_runs (run_id, step, group_name, executor, status, started_at)
      VALUES (:run_id, :step, :group_name, :executor, 'running', :started_at)
      RETURNING *`);
    this.finishRow = db.prepare(`
      UPDATE step_runs SET status = :status, exit_code = :exit_code, reason = :reason, finished_at = :finished_at
      WHERE id = :id AND status = 'running'
      RETURNING *`);
    this.selectOne = db.prepare('SELECT * FROM step_runs WHERE id = ?');
    this.selectByRun = db.prepare('SELECT * FROM step_runs WHERE run_id = ? ORDER BY id');
  }

  /** Records a step that starts now (status `running`). The run must exist. */
  start(input: StartStepInput): StepRun {
    try {
      return toStepRun(
        this.insert.get({
          run_id: input.runId,
          step: input.step,
          group_name: input.group ?? null,
          executor: input.executor,
          started_at: input.at ?? this.now(),
        })!,
      );
    } catch (err) {
      if (isForeignKeyViolation(err)) throw notFound(`run ${input.runId} does not exist`);
      throw err;
    }
  }

  /** Records how a running step ended; a step ends once (conflict otherwise). */
  finish(id: number, input: FinishStepInput): StepRun {
    const row = this.finishRow.get({
      id,
      status: input.status,
      exit_code: input.exitCode ?? null,
      reason: input.reason ?? null,
      finished_at: input.at ?? this.now(),
    });
    if (row) return toStepRun(row);
    const existing = this.selectOne.get(id);
    if (!existing) throw notFound(`step run ${id} does not exist`);
    throw conflict(`step ${existing.step} of run ${existing.run_id} already ${existing.status}`);
  }

  /** The steps of a run in the order they started. */
  listByRun(runId: string): StepRun[] {
    return this.selectByRun.all(runId).map(toStepRun);
  }
}
