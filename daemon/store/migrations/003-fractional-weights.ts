import type { Migration } from '../migrate.js';

/**
 * Traffic weights become REAL: a rollout may move in fractional steps (`step_percent: 12.5`), the
 * way SageMaker variant weights are floats. SQLite cannot change a column's type, so both tables
 * are rebuilt the documented way (new table, copy, drop, rename, indexes again); foreign keys are
 * off while migrations run and checked after, so the decisions that reference rollouts stay put.
 */
export const fractionalWeights: Migration = {
  version: 3,
  name: 'fractional-weights',
  up(db) {
    db.exec(`
      CREATE TABLE rollouts_new (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        run_id TEXT REFERENCES runs (id),
        groups_json TEXT NOT NULL CHECK (json_valid(groups_json)),
        phase TEXT NOT NULL CHECK (phase IN ('deploying', 'checking_data', 'integration_testing', 'replaying', 'shifting',
          'paused', 'promoted', 'blocked', 'rolling_back', 'rolled_back', 'failed')),
        candidate_weight REAL NOT NULL CHECK (candidate_weight BETWEEN 0 AND 100),
        step_index INTEGER NOT NULL CHECK (step_index >= 0),
        phase_started_at INTEGER NOT NULL,
        paused_from TEXT CHECK (paused_from IN ('deploying', 'checking_data', 'integration_testing', 'replaying',
          'shifting', 'rolling_back')),
        state_json TEXT NOT NULL CHECK (json_valid(state_json)),
        reason TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        version INTEGER NOT NULL,
        CHECK (phase <> 'paused' OR paused_from IS NOT NULL)
      ) STRICT;
      INSERT INTO rollouts_new SELECT * FROM rollouts;
      DROP TABLE rollouts;
      ALTER TABLE rollouts_new RENAME TO rollouts;
      CREATE UNIQUE INDEX rollouts_one_active ON rollouts (pipeline)
        WHERE phase NOT IN ('promoted', 'blocked', 'rolled_back', 'failed');
      CREATE INDEX rollouts_pipeline ON rollouts (pipeline, id);

      CREATE TABLE variants_new (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        group_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('current', 'candidate')),
        weight REAL NOT NULL CHECK (weight BETWEEN 0 AND 100),
        backend TEXT NOT NULL CHECK (backend IN ('local', 'docker')),
        desired TEXT NOT NULL CHECK (desired IN ('live', 'retired')),
        state TEXT NOT NULL CHECK (state IN ('starting', 'live', 'failed', 'stopped')),
        port INTEGER,
        handle TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        FOREIGN KEY (pipeline, group_name, version) REFERENCES model_versions (pipeline, group_name, version)
      ) STRICT;
      INSERT INTO variants_new SELECT * FROM variants;
      DROP TABLE variants;
      ALTER TABLE variants_new RENAME TO variants;
      CREATE UNIQUE INDEX variants_live_version ON variants (pipeline, group_name, version) WHERE desired = 'live';
      CREATE UNIQUE INDEX variants_live_role ON variants (pipeline, group_name, role) WHERE desired = 'live';
      CREATE INDEX variants_pipeline ON variants (pipeline, group_name, id);
    `);
  },
};
