import type Database from 'better-sqlite3';
import type { NotifyEvent } from '../../shared/config/notify.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event for one target: what the outbox holds and the delivery worker works through. */
export interface Notification {
  id: number;
  /** Sent as X-Mlp-Event-Id; the same for every target of the event and every retry. */
  eventId: string;
  pipeline: string;
  event: NotifyEvent;
  /** The URL as configured (`${ENV_VAR}` unexpanded). */
  target: string;
  /** The JSON body, as POSTed. */
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  finishedAt: number | null;
}

export interface NewNotification {
  eventId: string;
  pipeline: string;
  event: NotifyEvent;
  target: string;
  payload: Record<string, unknown>;
}

/** How one attempt went: delivered (2xx), to be tried again at `retryAt`, or failed for good. */
export type AttemptOutcome =
  | { status: 'delivered'; httpStatus: number }
  | { status: 'pending'; httpStatus: number | null; error: string; retryAt: number }
  | { status: 'failed'; httpStatus: number | null; error: string };

export interface NotificationRow {
  id: number;
  event_id: string;
  pipeline: string;
  event: NotifyEvent;
  target: string;
  payload_json: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  finished_at: number | null;
}

export const toNotification = (r: NotificationRow): Notification => ({
  id: r.id,
  eventId: r.event_id,
  pipeline: r.pipeline,
  event: r.event,
  target: r.target,
  payload: JSON.parse(r.payload_json) as Record<string, unknown>,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  finishedAt: r.finished_at,
});

type AttemptParams = {
  id: number;
  status: DeliveryStatus;
  at: number;
  next: number;
  last_status: number | null;
  last_error: string | null;
};

export class NotificationsRepository {
  private readonly insert: Database.Statement<
    Omit<
      NotificationRow,
      'id' | 'status' | 'attempts' | 'last_attempt_at' | 'last_status' | 'last_error' | 'finished_at' | 'next_attempt_at'
    >
  >;
  private readonly selectDue: Database.Statement<[number, number], NotificationRow>;
  private readonly selectNextDue: Database.Statement<[], { at: number | null }>;
  private readonly selectRecent: Database.Statement<[string, number], NotificationRow>;
  private readonly selectRecentFailed: Database.Statement<[string, number], NotificationRow>;
  private readonly updateAttempt: Database.Statement<AttemptParams>;
  private readonly deleteFinished: Database.Statement<[number]>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    // A second enqueue of the same event for the same target is ignored: never twice to a target.
    this.insert = db.prepare(`
      INSERT INTO notifications (event_id, pipeline, event, target, payload_json, status, next_attempt_at, created_at)
      VALUES (:event_id, :pipeline, :event, :target, :payload_json, 'pending', :created_at, :created_at)
      ON CONFLICT (event_id, target) DO NOTHING`);
    this.selectDue = db.prepare(
      `SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.selectNextDue = db.prepare(`SELECT min(next_attempt_at) AS at FROM notifications WHERE status = 'pending'`);
    this.selectRecent = db.prepare('SELECT * FROM notifications WHERE pipeline = ? ORDER BY id DESC LIMIT ?');
    this.selectRecentFailed = db.prepare(`SELECT * FROM notifications WHERE pipeline = ? AND status = 'failed' ORDER BY id DESC LIMIT ?`);
    // Only a pending row takes an attempt's outcome: a delivered one stays delivered.
    this.updateAttempt = db.prepare(`
      UPDATE notifications SET
        status = :status,
        attempts = attempts + 1,
        last_attempt_at = :at,
        next_attempt_at = :next,
        last_status = :last_status,
        last_error = :last_error,
        finished_at = CASE WHEN :status = 'pending' THEN NULL ELSE :at END
      WHERE id = :id AND status = 'pending'`);
    this.deleteFinished = db.prepare(`DELETE FROM notifications WHERE status <> 'pending' AND finished_at < ?`);
  }

  /** Queues an event for each of its targets (call inside the transaction that saves its cause). */
  enqueue(items: readonly NewNotification[], at = this.now()): void {
    for (const n of items) {
      this.insert.run({
        event_id: n.eventId,
        pipeline: n.pipeline,
        event: n.event,
        target: n.target,
        payload_json: JSON.stringify(n.payload),
        created_at: at,
      });
    }
  }

  /** Pending deliveries due by `now`, the longest waiting first. */
  due(now: number, limit: number): Notification[] {
    return this.selectDue.all(now, limit).map(toNotification);
  }

  /** When the next pending delivery is due; null when nothing waits. */
  nextDueAt(): number | null {
    return this.selectNextDue.get()?.at ?? null;
  }

  /** Records one attempt; false when the row was no longer pending (nothing changed). */
  recordAttempt(id: number, outcome: AttemptOutcome, at = this.now()): boolean {
    const { changes } = this.updateAttempt.run({
      id,
      status: outcome.status,
      at,
      next: outcome.status === 'pending' ? outcome.retryAt : at,
      last_status: outcome.httpStatus,
      last_error: outcome.status === 'delivered' ? null : outcome.error,
    });
    return changes === 1;
  }

  /** A pipeline's newest deliveries, newest first. */
  recent(pipeline: string, limit: number): Notification[] {
    return this.selectRecent.all(pipeline, limit).map(toNotification);
  }

  /** A pipeline's newest deliveries that failed for good, newest first. */
  recentFailures(pipeline: string, limit: number): Notification[] {
    return this.selectRecentFailed.all(pipeline, limit).map(toNotification);
  }

  /** Deletes delivered and failed rows finished before `before`; returns how many. */
  prune(before: number): number {
    return this.deleteFinished.run(before).changes;
  }
}
