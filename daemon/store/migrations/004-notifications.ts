import type { Migration } from '../migrate.js';

/**
 * The notification outbox (docs/notifications.md): one row per event and target, written in the
 * transaction that saves the rollout's or run's change that caused it, so a crash can neither lose
 * the event nor record it twice. The delivery worker POSTs pending rows and records each answer;
 * `target` is the URL as configured (`${ENV_VAR}` unexpanded), so no secret is stored.
 */
export const notifications: Migration = {
  version: 4,
  name: 'notifications',
  up(db) {
    db.exec(`
      CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        -- sent as X-Mlp-Event-Id: the same for every target and every retry of one event
        event_id TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        event TEXT NOT NULL CHECK (event IN ('blocked', 'rolled_back', 'failed', 'promoted', 'paused', 'run_failed')),
        target TEXT NOT NULL,
        payload_json TEXT NOT NULL CHECK (json_valid(payload_json)),
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_attempt_at INTEGER,
        -- the HTTP status of the last answer; null when none came (network error)
        last_status INTEGER,
        last_error TEXT,
        finished_at INTEGER,
        UNIQUE (event_id, target)
      ) STRICT;
      CREATE INDEX notifications_pending ON notifications (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX notifications_pipeline ON notifications (pipeline, id);
    `);
  },
};
