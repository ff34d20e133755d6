/**
 * Turns pipeline schedules into queued runs. A cron tick only enqueues, keyed by its fire time, so
 * a double tick (or a tick racing catch-up) cannot start a pipeline twice; starting runs is the run
 * queue's job (`onEnqueued`). The rules are written up for users in docs/scheduling.md.
 */
import { floorToMinute, parseCron, previousFireTime } from '../../shared/config/cron.js';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import type { Run, RunTrigger } from '../store/runs.js';
import type { CronDriver, CronJob } from './clock.js';

export interface ScheduledPipeline {
  name: string;
  /** 5-field cron or a macro; null: runs only on demand. */
  schedule: string | null;
  /** IANA zone of `schedule`; default: the daemon's zone. */
  timeZone?: string;
  /** When the daemon first saw this pipeline with this schedule (epoch ms): fire times before it are never caught up. */
  knownSince: number;
}

export interface SchedulerOptions {
  store: Pick<Store, 'runs' | 'transaction'>;
  cron: CronDriver;
  now: () => number;
  log: Logger;
  /** Called with every run the scheduler queued (not with the ones it recorded as skipped), so the run queue can start it. */
  onEnqueued: (run: Run) => void;
}

export interface Scheduler {
  /** Makes the cron jobs match `pipelines`: new and changed schedules (re)start, removed ones stop, unchanged ones keep running. */
  sync(pipelines: readonly ScheduledPipeline[]): void;
  /**
   * After downtime: for each synced pipeline, the most recent fire time at or before now, if no
   * run has been recorded for it or anything later and the daemon knew the schedule then, becomes
   * one `catch_up` run. Returns the runs it recorded (queued or skipped).
   */
  catchUp(): Run[];
  /** Stops every cron job. */
  stop(): void;
}

interface Job {
  pipeline: ScheduledPipeline & { schedule: string };
  /** What the cron job was registered with; a change means a new job. */
  key: string;
  handle: CronJob;
}

const AREA = 'scheduler';

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { store, log } = opts;
  const jobs = new Map<string, Job>();

  /** Records the fire time `scheduledFor` of a pipeline as a run: queued, or skipped while another run is going. */
  const fire = (pipeline: string, scheduledFor: number, trigger: RunTrigger): Run | undefined => {
    const at = opts.now();
    const when = new Date(scheduledFor).toISOString();
    const { run, created } = store.transaction(() => {
      const going = store.runs.active(pipeline);
      const result = store.runs.enqueue({ pipeline, trigger, scheduledFor, at });
      const other = going.find((r) => r.status === 'running') ?? going[0];
      if (!result.created || !other) return result;
      return {
        run: store.runs.setStatus(result.run.id, 'skipped', { reason: `run ${other.id} is still ${other.status}`, at }),
        created: true,
      };
    });
    if (!created) {
      log.debug(AREA, `fire time ${when} already has run ${run.id}`, pipeline);
      return undefined;
    }
    if (run.status === 'skipped') {
      log.warn(AREA, `skipped the ${when} fire time (${run.id}): ${run.reason}`, pipeline);
      return run;
    }
    log.info(
      AREA,
      `${run.id} queued for the ${when} fire time${trigger === 'catch_up' ? ', missed while the daemon was down' : ''}`,
      pipeline,
    );
    try {
      opts.onEnqueued(run);
    } catch (err) {
      // The run is stored as queued; the queue finds it when it next looks, at the latest on restart.
      log.error(AREA, `${run.id} is queued but could not be handed to the run queue: ${describeError(err)}`, pipeline);
    }
    return run;
  };

  const tick = (pipeline: string, firedAt: Date) => {
    try {
      fire(pipeline, floorToMinute(firedAt.getTime()), 'schedule');
    } catch (err) {
      log.error(AREA, `could not record the ${firedAt.toISOString()} fire time: ${describeError(err)}`, pipeline);
    }
  };

  const stopJob = (name: string) => {
    jobs.get(name)?.handle.stop();
    jobs.delete(name);
  };

  return {
    sync(pipelines) {
      const wanted = new Map(pipelines.map((p) => [p.name, p]));
      for (const [name, job] of jobs) {
        const p = wanted.get(name);
        if (!p || !p.schedule) {
          stopJob(name);
          log.info(AREA, p ? 'schedule removed; runs only on demand' : 'pipeline removed; schedule stopped', name);
        } else if (jobKey(p) !== job.key) {
          stopJob(name);
        }
      }
      for (const p of pipelines) {
        if (!p.schedule) continue;
        const pipeline = { ...p, schedule: p.schedule };
        const job = jobs.get(p.name);
        if (job) {
          job.pipeline = pipeline;
          continue;
        }
        try {
          const handle = opts.cron.schedule(p.schedule, p.timeZone, (firedAt) => tick(p.name, firedAt));
          jobs.set(p.name, { pipeline, key: jobKey(p), handle });
          log.info(AREA, `scheduled '${p.schedule}'${p.timeZone ? ` (${p.timeZone})` : ''}`, p.name);
        } catch (err) {
          log.error(AREA, `cannot schedule '${p.schedule}': ${describeError(err)}`, p.name);
        }
      }
    },

    catchUp() {
      const now = opts.now();
      const recorded: Run[] = [];
      for (const { pipeline: p } of jobs.values()) {
        try {
          const missed = previousFireTime(parseCron(p.schedule), new Date(now), p.timeZone)?.getTime();
          if (missed === undefined || missed <= p.knownSince) continue;
          const latest = store.runs.latestScheduledFor(p.name);
          if (latest !== null && missed <= latest) continue;
          const run = fire(p.name, missed, 'catch_up');
          if (run) recorded.push(run);
        } catch (err) {
          log.error(AREA, `cannot catch up on missed fire times: ${describeError(err)}`, p.name);
        }
      }
      return recorded;
    },

    stop() {
      for (const name of [...jobs.keys()]) stopJob(name);
    },
  };
}

const jobKey = (p: ScheduledPipeline) => `${p.schedule ?? ''}\u0000${p.timeZone ?? ''}`;
