import type { Migration } from '../migrate.js';

/**
 * The core schema. Conventions: timestamps are integer epoch milliseconds (`*_at`, `scheduled_for`);
 * structured data lives in `*_json` TEXT columns checked with json_valid; `group_name` holds the
 * pipeline group (GROUP is an SQL keyword); closed sets of values are CHECKed so a bug cannot store
 * a state the daemon does not know. Tables are STRICT.
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      -- The registry of discovered pipelines. A row is never deleted: removed_at marks a pipeline whose
      -- folder went away, so its history (runs, versions, rollouts) keeps a name to hang on. A row exists
      -- once a pipeline was valid: config_json is its last valid config, problems_json the problems of
      -- the file on disk while an edit makes it invalid (seen at problems_at).
      CREATE TABLE pipelines (
        name TEXT PRIMARY KEY,
        dir TEXT NOT NULL,
        file TEXT NOT NULL,
        config_json TEXT NOT NULL CHECK (json_valid(config_json)),
        config_hash TEXT NOT NULL,
        loaded_at INTEGER NOT NULL,
        problems_json TEXT CHECK (problems_json IS NULL OR json_valid(problems_json)),
        problems_at INTEGER,
        removed_at INTEGER,
        CHECK ((problems_json IS NULL) = (problems_at IS NULL))
      ) STRICT;

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'change', 'catch_up')),
        scheduled_for INTEGER,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
        reason TEXT,
        git_commit TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      ) STRICT;
      -- The cron tick enqueues keyed by its fire time: a double tick (or a restart mid-minute) finds the
      -- run already there.
      CREATE UNIQUE INDEX runs_pipeline_scheduled_for ON runs (pipeline, scheduled_for) WHERE scheduled_for IS NOT NULL;
      CREATE INDEX runs_pipeline_created ON runs (pipeline, created_at);
      CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'running');

      CREATE TABLE step_runs (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        group_name TEXT,
        executor TEXT NOT NULL CHECK (executor IN ('local', 'docker', 'cloud')),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'skipped')),
        exit_code INTEGER,
        reason TEXT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX step_runs_run ON step_runs (run_id, id);

      -- AUTOINCREMENT so ids of pruned lines are never reused: a client following with afterId never
      -- skips new lines. No foreign key to runs: logs are written on the hot path and pruned on their
      -- own schedule.
      CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        pipeline TEXT NOT NULL,
        run_id TEXT,
        step TEXT,
        group_name TEXT,
        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'daemon')),
        line TEXT NOT NULL
      ) STRICT;
      CREATE INDEX logs_pipeline_id ON logs (pipeline, id);
      CREATE INDEX logs_at ON logs (at);

      CREATE TABLE model_versions (
        pipeline TEXT NOT NULL,
        group_name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        run_id TEXT REFERENCES runs (id),
        git_commit TEXT,
        artifact_uri TEXT NOT NULL,
        metrics_json TEXT CHECK (metrics_json IS NULL OR json_valid(metrics_json)),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (pipeline, group_name, version)
      ) STRICT;

      -- A rollout moves a pipeline's new versions (one per group, in lockstep) to production.
      -- groups_json: [{group, candidate, current}] (versions; current null for a first version).
      -- version is the optimistic-concurrency counter, bumped by every save.
      CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        run_id TEXT REFERENCES runs (id),
        groups_json TEXT NOT NULL CHECK (json_valid(groups_json)),
        phase TEXT NOT NULL CHECK (phase IN ('deploying', 'checking_data', 'integration_testing', 'replaying', 'shifting',
          'paused', 'promoted', 'blocked', 'rolling_back', 'rolled_back', 'failed')),
        candidate_weight INTEGER NOT NULL CHECK (candidate_weight BETWEEN 0 AND 100),
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
      -- only one rollout per pipeline is active (not promoted, blocked, rolled back or failed): docs/rollouts.md, "Phases".
      CREATE UNIQUE INDEX rollouts_one_active ON rollouts (pipeline)
        WHERE phase NOT IN ('promoted', 'blocked', 'rolled_back', 'failed');
      CREATE INDEX rollouts_pipeline ON rollouts (pipeline, id);

      CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        phase TEXT NOT NULL,
        rule TEXT NOT NULL,
        observed_json TEXT CHECK (observed_json IS NULL OR json_valid(observed_json)),
        threshold_json TEXT CHECK (threshold_json IS NULL OR json_valid(threshold_json)),
        sample_json TEXT CHECK (sample_json IS NULL OR json_valid(sample_json)),
        verdict TEXT NOT NULL,
        reason TEXT NOT NULL
      ) STRICT;
      CREATE INDEX decisions_rollout ON decisions (rollout_id, id);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')),
        command TEXT NOT NULL,
        target TEXT,
        args_json TEXT CHECK (args_json IS NULL OR json_valid(args_json)),
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'failed')),
        message TEXT
      ) STRICT;

      -- Only the sha256 of a secret is kept. A revoked name stays taken so the audit trail's actor
      -- names one token forever.
      CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')),
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
    `);
  },
};
