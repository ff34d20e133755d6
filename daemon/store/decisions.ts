import type Database from 'better-sqlite3';
import { notFound } from '../../shared/errors.js';
import type { Decision } from '../rollout/decision.js';
import { fromJson, toJson } from './json.js';
import { isForeignKeyViolation } from './sqlite-errors.js';
import type { RolloutPhase } from '../../shared/domain.js';
import type { Rule, Verdict } from '../../shared/reports/decision.js';

/** Rows are only ever written from a Decision: their texts are its enums. */
export interface DecisionRow {
  rollout_id: number;
  at: number;
  phase: RolloutPhase;
  rule: Rule;
  observed_json: string | null;
  threshold_json: string | null;
  sample_json: string | null;
  verdict: Verdict;
  reason: string;
}

export const toDecision = (r: DecisionRow): Decision => ({
  at: r.at,
  phase: r.phase,
  rule: r.rule,
  observed: fromJson(r.observed_json),
  threshold: fromJson(r.threshold_json),
  sample: fromJson(r.sample_json),
  verdict: r.verdict,
  reason: r.reason,
});

export class DecisionsRepository {
  private readonly insert: Database.Statement<DecisionRow, DecisionRow>;
  private readonly selectByRollout: Database.Statement<[number], DecisionRow>;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`
      INSERT INTO decisions (rollout_id, at, phase, rule, observed_json, threshold_json, sample_json, verdict, reason)
      VALUES (:rollout_id, :at, :phase, :rule, :observed_json, :threshold_json, :sample_json, :verdict, :reason)
      RETURNING *`);
    this.selectByRollout = db.prepare('SELECT * FROM decisions WHERE rollout_id = ? ORDER BY id');
  }

  /** Appends a decision to a rollout's record; returns it as stored. */
  record(rolloutId: number, d: Decision): Decision {
    try {
      return toDecision(
        this.insert.get({
          rollout_id: rolloutId,
          at: d.at,
          phase: d.phase,
          rule: d.rule,
          observed_json: toJson(d.observed),
          threshold_json: toJson(d.threshold),
          sample_json: toJson(d.sample),
          verdict: d.verdict,
          reason: d.reason,
        })!,
      );
    } catch (err) {
      if (isForeignKeyViolation(err)) throw notFound(`rollout #${rolloutId} does not exist`);
      throw err;
    }
  }

  /** A rollout's decisions, newest last. */
  list(rolloutId: number): Decision[] {
    return this.selectByRollout.all(rolloutId).map(toDecision);
  }
}
