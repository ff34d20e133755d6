import type { Migration } from '../migrate.js';

/**
 * Variants may serve on SageMaker (backend 'sagemaker': a production variant of the group's endpoint, its
 * handle `endpoint:<name>`). The CHECK on `backend` is part of the table, so the table is rebuilt the
 * documented way (new table, copy, drop, rename, indexes again), as migration 3 did.
 */
export const sagemakerVariants: Migration = {
  version: 5,
  name: 'sagemaker-variants',
  up(db) {
    db.exec(`
      CREATE TABLE variants_new (
        id INTEGER PRIMARY KEY,
        pipeline TEXT NOT NULL,
        group_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('current', 'candidate')),
        weight REAL NOT NULL CHECK (weight BETWEEN 0 AND 100),
        backend TEXT NOT NULL CHECK (backend IN ('local', 'docker', 'sagemaker')),
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
