import type Database from 'better-sqlite3';
import type { Decision } from '../rollout/decision.js';
import type { Rollout } from '../rollout/rollout.js';
import { toDecision, type DecisionRow } from './decisions.js';
import { toNotification, type Notification, type NotificationRow } from './notifications.js';
import { TERMINAL_SQL, toRollout, type RolloutRow } from './rollouts.js';
import { toRun, type Run, type RunRow } from './runs.js';
import { toStepRun, type StepRun, type StepRunRow } from './step-runs.js';
import { toVariant, type Variant, type VariantRow } from './variants.js';

/** Runs shown per pipeline in status. */
export const RECENT_RUNS = 5;
/** Notifications shown per pipeline, and of them the failed ones. */
export const RECENT_NOTIFICATIONS = 10;
export const RECENT_FAILURES = 5;

/**
 * How much of a pipeline's records to read: everything its full view shows, or what its summary
 * (the fleet list's row, shared/fleet-summary.ts) is made of: the newest run without its steps, the
 * rollout with only its newest `error_rate` decision that carries a threshold, no training run and
 * no notifications. A full view is several times the rows, mostly steps.
 */
export type RecordsDepth = 'full' | 'summary';

/** Everything the store knows that a pipeline's status shows (in part, at depth `summary`). */
export interface PipelineRecords {
  /** Live variants by group, then id. */
  live: Variant[];
  /** Newest first, at most RECENT_RUNS. */
  recentRuns: Run[];
  /** The newest succeeded run: what the training cost is estimated from. */
  latestSucceeded: Run | null;
  /** Steps of the recent runs and of the latest succeeded one, by run id, in order. */
  steps: ReadonlyMap<string, StepRun[]>;
  /** The active rollout, else the most recent one (docs/api.md, the snapshot's `rollout`). */
  rollout: Rollout | null;
  /** The rollout's decisions, newest last. */
  decisions: Decision[];
  /** Newest first. */
  notifications: { recent: Notification[]; failures: Notification[] };
}

/**
 * The records of many pipelines at once, by a fixed number of statements whatever their number: a
 * snapshot of a thousand pipelines would otherwise cost a dozen statements a pipeline. Pipelines
 * are passed as one JSON array (json_each), and "the newest N of each" are index seeks per pipeline
 * inside SQLite.
 */
export class FleetReadsRepository {
  private readonly selectLive: Database.Statement<[string], VariantRow>;
  private readonly selectRecentRuns: Database.Statement<[string], RunRow>;
  private readonly selectNewestRuns: Database.Statement<[string], RunRow>;
  private readonly selectLatestSucceeded: Database.Statement<[string], RunRow>;
  private readonly selectSteps: Database.Statement<[string], StepRunRow>;
  private readonly selectRollouts: Database.Statement<[string], RolloutRow>;
  private readonly selectDecisions: Database.Statement<[string], DecisionRow>;
  private readonly selectThresholds: Database.Statement<[string], DecisionRow>;
  private readonly selectNotifications: Database.Statement<[string], NotificationRow>;
  private readonly selectFailures: Database.Statement<[string], NotificationRow>;

  constructor(db: Database.Database) {
    const names = 'SELECT value FROM json_each(?)';
    this.selectLive = db.prepare(
      `SELECT * FROM variants WHERE desired = 'live' AND pipeline IN (${names}) ORDER BY pipeline, group_name, id`,
    );
    const newestRuns = (limit: number) => `
      SELECT r.* FROM json_each(?) AS p JOIN runs AS r ON r.rowid IN (
        SELECT rowid FROM runs WHERE pipeline = p.value ORDER BY created_at DESC, rowid DESC LIMIT ${limit})
      ORDER BY p.key, r.created_at DESC, r.rowid DESC`;
    this.selectRecentRuns = db.prepare(newestRuns(RECENT_RUNS));
    this.selectNewestRuns = db.prepare(newestRuns(1));
    this.selectLatestSucceeded = db.prepare(`
      SELECT r.* FROM json_each(?) AS p JOIN runs AS r ON r.rowid = (
        SELECT rowid FROM runs WHERE pipeline = p.value AND status = 'succeeded' ORDER BY created_at DESC, rowid DESC LIMIT 1)`);
    this.selectSteps = db.prepare(`SELECT * FROM step_runs WHERE run_id IN (${names}) ORDER BY run_id, id`);
    this.selectRollouts = db.prepare(`
      SELECT r.* FROM json_each(?) AS p JOIN rollouts AS r ON r.id = coalesce(
        (SELECT id FROM rollouts WHERE pipeline = p.value AND phase NOT IN (${TERMINAL_SQL})),
        (SELECT max(id) FROM rollouts WHERE pipeline = p.value))`);
    this.selectDecisions = db.prepare(`SELECT * FROM decisions WHERE rollout_id IN (${names}) ORDER BY rollout_id, id`);
    this.selectThresholds = db.prepare(`
      SELECT * FROM decisions WHERE id IN (
        SELECT max(id) FROM decisions
        WHERE rollout_id IN (${names}) AND rule = 'error_rate' AND json_type(threshold_json) IN ('integer', 'real')
        GROUP BY rollout_id)`);
    const newest = (where: string, limit: number) => `
      SELECT n.* FROM json_each(?) AS p JOIN notifications AS n ON n.id IN (
        SELECT id FROM notifications WHERE pipeline = p.value ${where} ORDER BY id DESC LIMIT ${limit})
      ORDER BY p.key, n.id DESC`;
    this.selectNotifications = db.prepare(newest('', RECENT_NOTIFICATIONS));
    this.selectFailures = db.prepare(newest("AND status = 'failed'", RECENT_FAILURES));
  }

  /** The records of every named pipeline (one that the store knows nothing of gets empty ones). */
  of(pipelines: readonly string[], depth: RecordsDepth = 'full'): Map<string, PipelineRecords> {
    const full = depth === 'full';
    const out = new Map<string, PipelineRecords>();
    const names = JSON.stringify(pipelines);
    const steps = new Map<string, StepRun[]>();
    for (const name of pipelines) {
      out.set(name, {
        live: [],
        recentRuns: [],
        latestSucceeded: null,
        steps,
        rollout: null,
        decisions: [],
        notifications: { recent: [], failures: [] },
      });
    }
    const recordsOf = (pipeline: string) => out.get(pipeline)!;
    for (const row of this.selectLive.all(names)) recordsOf(row.pipeline).live.push(toVariant(row));
    const runIds: string[] = [];
    for (const row of (full ? this.selectRecentRuns : this.selectNewestRuns).all(names)) {
      recordsOf(row.pipeline).recentRuns.push(toRun(row));
      runIds.push(row.id);
    }
    if (full) {
      for (const row of this.selectLatestSucceeded.all(names)) {
        recordsOf(row.pipeline).latestSucceeded = toRun(row);
        runIds.push(row.id);
      }
      for (const row of this.selectSteps.all(JSON.stringify(runIds))) {
        const list = steps.get(row.run_id);
        if (list) list.push(toStepRun(row));
        else steps.set(row.run_id, [toStepRun(row)]);
      }
    }
    const rollouts = new Map<number, PipelineRecords>();
    for (const row of this.selectRollouts.all(names)) {
      const records = recordsOf(row.pipeline);
      records.rollout = toRollout(row);
      rollouts.set(row.id, records);
    }
    const rolloutIds = JSON.stringify([...rollouts.keys()]);
    for (const row of (full ? this.selectDecisions : this.selectThresholds).all(rolloutIds))
      rollouts.get(row.rollout_id)!.decisions.push(toDecision(row));
    if (!full) return out;
    for (const row of this.selectNotifications.all(names)) recordsOf(row.pipeline).notifications.recent.push(toNotification(row));
    for (const row of this.selectFailures.all(names)) recordsOf(row.pipeline).notifications.failures.push(toNotification(row));
    return out;
  }
}
