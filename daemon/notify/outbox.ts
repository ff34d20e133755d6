/**
 * Queues notifications: called inside the transaction that saves a rollout's transition or records
 * a run's failure, it stores one row per target that listens to the event, so the event and its
 * cause are written together or not at all. Delivery happens elsewhere (delivery.ts).
 */
import type { NotifyTargetConfig } from '../../shared/config/notify.js';
import type { Store } from '../store/db.js';
import { newEventId } from '../store/ids.js';
import type { Rollout } from '../rollout/rollout.js';
import type { Run } from '../store/runs.js';
import { rolloutNotification, runFailedNotification, type NotificationPayload, type RunFailure } from './events.js';

export interface NotificationOutbox {
  /** A rollout's change was saved in the current transaction (its decisions included). */
  rolloutChanged(before: Rollout, after: Rollout): void;
  /** A run's failure was recorded in the current transaction. */
  runFailed(run: Run, failures: readonly RunFailure[]): void;
}

export function createNotificationOutbox(deps: {
  store: Store;
  /** The targets in force for a pipeline: mlp.yaml's and its own. */
  targetsFor(pipeline: string): readonly NotifyTargetConfig[];
  now?: () => number;
  /** Something was queued (the worker looks once the transaction has committed). */
  onQueued(): void;
}): NotificationOutbox {
  const now = deps.now ?? Date.now;
  const queue = (payload: NotificationPayload | undefined, at: number) => {
    if (!payload) return;
    const targets = deps.targetsFor(payload.pipeline).filter((t) => t.on.includes(payload.event));
    if (targets.length === 0) return;
    const eventId = newEventId(at);
    deps.store.notifications.enqueue(
      targets.map((t) => ({ eventId, pipeline: payload.pipeline, event: payload.event, target: t.url, payload: { ...payload } })),
      at,
    );
    // After this synchronous transaction commits.
    setImmediate(deps.onQueued);
  };
  return {
    rolloutChanged(before, after) {
      if (before.phase === after.phase) return;
      const at = now();
      queue(rolloutNotification(before, after, deps.store.decisions.list(after.id), at), at);
    },
    runFailed(run, failures) {
      const at = now();
      queue(runFailedNotification(run, failures, at), at);
    },
  };
}
