import type Database from 'better-sqlite3';
import { conflict, notFound } from '../../shared/errors.js';
import { TERMINAL_PHASES, type PausablePhase, type RolloutPhase } from '../../shared/domain.js';
import { parseRolloutState, type Rollout, type RolloutGroup, type RolloutState } from '../rollout/rollout.js';
import { isForeignKeyViolation, isUniqueViolation } from './sqlite-errors.js';

export {
  ROLLOUT_PHASES,
  TERMINAL_PHASES,
  isTerminalPhase,
  type RolloutPhase,
  type TerminalPhase,
  type PausablePhase,
} from '../../shared/domain.js';

export interface CreateRolloutInput {
  pipeline: string;
  runId?: string | null;
  groups: RolloutGroup[];
  phase?: RolloutPhase;
  candidateWeight?: number;
  state?: RolloutState;
  reason?: string | null;
  at?: number;
}

export interface RolloutRow {
  id: number;
  pipeline: string;
  run_id: string | null;
  groups_json: string;
  phase: RolloutPhase;
  candidate_weight: number;
  step_index: number;
  phase_started_at: number;
  paused_from: PausablePhase | null;
  state_json: string;
  reason: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  version: number;
}

export const toRollout = (r: RolloutRow): Rollout => ({
  id: r.id,
  pipeline: r.pipeline,
  runId: r.run_id,
  groups: JSON.parse(r.groups_json) as RolloutGroup[],
  phase: r.phase,
  candidateWeight: r.candidate_weight,
  stepIndex: r.step_index,
  phaseStartedAt: r.phase_started_at,
  pausedFrom: r.paused_from,
  state: parseRolloutState(r.id, JSON.parse(r.state_json)),
  reason: r.reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
  version: r.version,
});

export const TERMINAL_SQL = TERMINAL_PHASES.map((p) => `'${p}'`).join(', ');

type InsertParams = Omit<RolloutRow, 'id' | 'step_index' | 'paused_from' | 'updated_at' | 'finished_at' | 'version'>;
type SaveParams = Pick<
  RolloutRow,
  'id' | 'phase' | 'candidate_weight' | 'step_index' | 'phase_started_at' | 'paused_from' | 'state_json' | 'reason' | 'finished_at'
> & { expected: number; at: number };

export class RolloutsRepository {
  private readonly insert: Database.Statement<InsertParams, RolloutRow>;
  private readonly update: Database.Statement<SaveParams, RolloutRow>;
  private readonly selectOne: Database.Statement<[number], RolloutRow>;
  private readonly selectActive: Database.Statement<[string], RolloutRow>;
  private readonly selectAllActive: Database.Statement<[], RolloutRow>;
  private readonly selectLatest: Database.Statement<[string], RolloutRow>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO rollouts (pipeline, run_id, groups_json, phase, candidate_weight, step_index,
        phase_started_at, state_json, reason, created_at, updated_at, version)
      VALUES (:pipeline, :run_id, :groups_json, :phase, :candidate_weight, 0,
        :phase_started_at, :state_json, :reason, :created_at, :created_at, 1)
      RETURNING *`);
    // Identity (pipeline, group, versions, created_at) never changes; the rest is the machine's state.
    this.update = db.prepare(`
      UPDATE rollouts SET
        phase = :phase,
        candidate_weight = :candidate_weight,
        step_index = :step_index,
        phase_started_at = :phase_started_at,
        paused_from = :paused_from,
        state_json = :state_json,
        reason = :reason,
        updated_at = :at,
        finished_at = CASE WHEN :phase IN (${TERMINAL_SQL}) THEN coalesce(:finished_at, :at) ELSE NULL END,
        version = version + 1
      WHERE id = :id AND version = :expected
      RETURNING *`);
    this.selectOne = db.prepare('SELECT * FROM rollouts WHERE id = ?');
    this.selectActive = db.prepare(`SELECT * FROM rollouts WHERE pipeline = ? AND phase NOT IN (${TERMINAL_SQL})`);
    this.selectAllActive = db.prepare(`SELECT * FROM rollouts WHERE phase NOT IN (${TERMINAL_SQL}) ORDER BY id`);
    this.selectLatest = db.prepare('SELECT * FROM rollouts WHERE pipeline = ? ORDER BY id DESC LIMIT 1');
  }

  /**
   * Starts a rollout (default phase `deploying`, weight 0). Conflict when the pipeline already has an
   * active one (one per pipeline: docs/rollouts.md, "A newer candidate"); not_found when the candidate
   * or current version does not exist.
   */
  create(input: CreateRolloutInput): Rollout {
    const at = input.at ?? this.now();
    try {
      return toRollout(
        this.insert.get({
          pipeline: input.pipeline,
          run_id: input.runId ?? null,
          groups_json: JSON.stringify(input.groups),
          phase: input.phase ?? 'deploying',
          candidate_weight: input.candidateWeight ?? 0,
          phase_started_at: at,
          state_json: JSON.stringify(input.state ?? {}),
          reason: input.reason ?? null,
          created_at: at,
        })!,
      );
    } catch (err) {
      if (isUniqueViolation(err)) {
        const active = this.active(input.pipeline);
        throw conflict(`pipeline ${input.pipeline} already has an active rollout (#${active?.id}, ${active?.phase})`);
      }
      if (isForeignKeyViolation(err)) throw notFound(`run ${input.runId} does not exist`);
      throw err;
    }
  }

  /**
   * Saves the machine's next state if nobody saved since `expectedVersion` was read (conflict
   * otherwise) and returns it with its new version. Entering a terminal phase stamps finishedAt.
   */
  save(next: Rollout, options: { expectedVersion: number; at?: number }): Rollout {
    let row: RolloutRow | undefined;
    try {
      row = this.update.get({
        id: next.id,
        phase: next.phase,
        candidate_weight: next.candidateWeight,
        step_index: next.stepIndex,
        phase_started_at: next.phaseStartedAt,
        paused_from: next.pausedFrom,
        state_json: JSON.stringify(next.state),
        reason: next.reason,
        finished_at: next.finishedAt,
        expected: options.expectedVersion,
        at: options.at ?? this.now(),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`pipeline ${next.pipeline} already has another active rollout`);
      throw err;
    }
    if (row) return toRollout(row);
    const current = this.selectOne.get(next.id);
    if (!current) throw notFound(`rollout #${next.id} does not exist`);
    throw conflict(`rollout #${next.id} was changed by another writer (version ${current.version}, expected ${options.expectedVersion})`);
  }

  get(id: number): Rollout | undefined {
    const row = this.selectOne.get(id);
    return row && toRollout(row);
  }

  /** The pipeline's rollout that is not yet promoted, blocked, rolled back or failed. */
  active(pipeline: string): Rollout | undefined {
    const row = this.selectActive.get(pipeline);
    return row && toRollout(row);
  }

  /** The pipeline's most recent rollout, active or not. */
  latest(pipeline: string): Rollout | undefined {
    const row = this.selectLatest.get(pipeline);
    return row && toRollout(row);
  }

  /** Every active rollout, oldest first: what a (re)started daemon must reconcile. */
  listActive(): Rollout[] {
    return this.selectAllActive.all().map(toRollout);
  }
}
