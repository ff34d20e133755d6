import type { Migration } from '../migrate.js';

/**
 * What is serving: one row per model server the daemon keeps running (or has retired). The row is
 * the desired state plus what was last observed; after a restart the daemon starts again every
 * variant whose `desired` is 'live' (state lives in SQLite, never only in memory, so a restarted daemon brings the same servers back).
 */
export const variants: Migration = {
  version: 2,
  name: 'variants',
  up(db) {
    db.exec(`
      CREATE TABLE variants (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        group_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        -- current serves today's traffic; candidate is being rolled out beside it.
        role TEXT NOT NULL CHECK (role IN ('current', 'candidate')),
        weight INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
        backend TEXT NOT NULL CHECK (backend IN ('local', 'docker')),
        desired TEXT NOT NULL CHECK (desired IN ('live', 'retired')),
        -- observed: starting (not yet answering /ping), live, failed (gave up restarting), stopped
        state TEXT NOT NULL CHECK (state IN ('starting', 'live', 'failed', 'stopped')),
        port INTEGER,
        -- what the backend needs to find the server again after a daemon crash (pid, container id)
        handle TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        FOREIGN KEY (pipeline, group_name, version) REFERENCES model_versions (pipeline, group_name, version)
      ) STRICT;
      -- A version serves at most once per group, and a group has at most one current and one candidate.
      CREATE UNIQUE INDEX variants_live_version ON variants (pipeline, group_name, version) WHERE desired = 'live';
      CREATE UNIQUE INDEX variants_live_role ON variants (pipeline, group_name, role) WHERE desired = 'live';
      CREATE INDEX variants_pipeline ON variants (pipeline, group_name, id);
    `);
  },
};
