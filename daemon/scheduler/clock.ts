/**
 * Time and cron, behind interfaces small enough for tests to fake: a fake clock is a number and a
 * list of wake-ups that a test moves forward, a fake cron driver a list of registered callbacks that
 * a test calls. The rollout controller and its gates read the time and set their wake-ups here.
 */
import cron, { type Logger as CronLogger } from 'node-cron';
import { floorToMinute, isFireTime, parseCron, type CronSchedule } from '../../shared/config/cron.js';
import type { Logger } from '../log.js';

export interface Clock {
  now(): number;
  /** Calls `wake` once the clock reads `at` or later (at once when it already does); the returned function cancels it. */
  wakeAt(at: number, wake: () => void): () => void;
}

/** The time alone: what code that only stamps and measures (the router, metrics, capture) needs of a clock. */
export type WallClock = Pick<Clock, 'now'>;

export const systemClock: Clock = {
  now: () => Date.now(),
  wakeAt(at, wake) {
    const timer = setTimeout(wake, Math.max(0, at - Date.now()));
    return () => clearTimeout(timer);
  },
};

export interface CronJob {
  stop(): void;
}

export interface CronDriver {
  /**
   * Calls `onTick` at every fire time of `expression` in `timeZone` (default: the process's zone),
   * as shared/config/cron.ts defines them, with the fire time floored to the minute, until stopped.
   */
  schedule(expression: string, timeZone: string | undefined, onTick: (firedAt: Date) => void): CronJob;
}

/**
 * The real driver, over node-cron 4. node-cron reads both day fields with AND and fires a repeated
 * wall-clock minute twice when clocks go back, so it is only the alarm: it is given a superset of
 * the schedule (numbers only, so no name or 7-for-Sunday parsing is left to it) and each wake-up
 * is checked against our own cron math before it counts.
 */
export function nodeCronDriver(options: { log?: Logger } = {}): CronDriver {
  const logger = options.log && nodeCronLogger(options.log);
  return {
    schedule(expression, timeZone, onTick) {
      const schedule = parseCron(expression);
      const task = cron.schedule(
        alarmExpression(schedule),
        (context) => {
          const firedAt = new Date(floorToMinute(context.date.getTime()));
          if (isFireTime(schedule, firedAt, timeZone)) onTick(firedAt);
        },
        {
          ...(timeZone === undefined ? {} : { timezone: timeZone }),
          // node-cron drops a tick that is more than a second late (a stalled event loop, a machine
          // that slept) and only warns. Late is better than never: of several missed fire times it
          // still runs only the most recent, the same rule as catch-up after downtime.
          missedExecutionTolerance: Number.MAX_SAFE_INTEGER,
          suppressMissedWarning: true,
          ...(logger ? { logger } : {}),
        },
      );
      // destroy, not stop: a stopped task stays in node-cron's global registry.
      return { stop: () => void task.destroy() };
    },
  };
}

/** A node-cron expression (no seconds field) that fires at least whenever `schedule` does. */
export function alarmExpression(schedule: CronSchedule): string {
  const list = (values: readonly number[], count: number) => (values.length === count ? '*' : values.join(','));
  // With the Vixie day rule (either day field), wake every day and let the check decide.
  const either = schedule.dayRule === 'either';
  return [
    list(schedule.minutes, 60),
    list(schedule.hours, 24),
    either ? '*' : list(schedule.daysOfMonth, 31),
    list(schedule.months, 12),
    either ? '*' : list(schedule.daysOfWeek, 7),
  ].join(' ');
}

function nodeCronLogger(log: Logger): CronLogger {
  const text = (message: string | Error, err?: Error) =>
    [message instanceof Error ? message.message : message, err?.message].filter(Boolean).join(': ');
  return {
    debug: (message, err) => log.debug('cron', text(message, err)),
    info: (message) => log.info('cron', message),
    warn: (message) => log.warn('cron', message),
    error: (message, err) => log.error('cron', text(message, err)),
  };
}
