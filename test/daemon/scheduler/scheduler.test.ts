import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import type { CronDriver } from '../../../daemon/scheduler/clock.js';
import { createScheduler, type ScheduledPipeline } from '../../../daemon/scheduler/scheduler.js';
import type { Run } from '../../../daemon/store/runs.js';
import { freshStore } from '../store/helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Mondays, 2am UTC. */
const monday1 = Date.UTC(2026, 0, 5, 2);
const monday2 = monday1 + 7 * DAY;
const monday3 = monday2 + 7 * DAY;

interface FakeJob {
  expression: string;
  timeZone: string | undefined;
  stopped: boolean;
  tick(at: number): void;
}

/** A cron driver whose jobs a test fires by hand. */
function fakeCron() {
  const jobs: FakeJob[] = [];
  const driver: CronDriver = {
    schedule(expression, timeZone, onTick) {
      const job: FakeJob = { expression, timeZone, stopped: false, tick: (at) => onTick(new Date(at)) };
      jobs.push(job);
      return { stop: () => void (job.stopped = true) };
    },
  };
  const live = () => jobs.filter((j) => !j.stopped);
  return { driver, jobs, live };
}

function setup(start = monday1) {
  const store = freshStore();
  const cron = fakeCron();
  const clock = { now: start };
  const lines: string[] = [];
  const enqueued: Run[] = [];
  const scheduler = createScheduler({
    store,
    cron: cron.driver,
    now: () => clock.now,
    log: createLogger({ level: 'debug', write: (line) => lines.push(line), now: () => clock.now }),
    onEnqueued: (run) => enqueued.push(run),
  });
  return { store, cron, clock, lines, enqueued, scheduler };
}

const weekly = (over: Partial<ScheduledPipeline> = {}): ScheduledPipeline => ({
  name: 'demand-forecast',
  schedule: '0 2 * * 1',
  timeZone: 'UTC',
  knownSince: monday1 - 30 * DAY,
  ...over,
});

describe('cron ticks', () => {
  it('a tick queues a scheduled run for its fire time, floored to the minute, and hands it to the run queue', () => {
    const { store, cron, clock, enqueued, scheduler } = setup();
    scheduler.sync([weekly()]);
    assert.deepEqual(
      cron.live().map((j) => [j.expression, j.timeZone]),
      [['0 2 * * 1', 'UTC']],
    );
    clock.now = monday1 + 1_500;
    cron.live()[0]!.tick(monday1 + 1_234);
    const runs = store.runs.listRecent('demand-forecast', 10);
    assert.equal(runs.length, 1);
    assert.deepEqual(
      [runs[0]!.trigger, runs[0]!.status, runs[0]!.scheduledFor, runs[0]!.createdAt],
      ['schedule', 'queued', monday1, monday1 + 1_500],
    );
    assert.deepEqual(enqueued, runs);
  });

  it('a double tick for the same fire time queues one run', () => {
    const { store, cron, enqueued, scheduler } = setup();
    scheduler.sync([weekly()]);
    const job = cron.live()[0]!;
    job.tick(monday1);
    job.tick(monday1 + 30_000);
    assert.equal(store.runs.listRecent('demand-forecast', 10).length, 1);
    assert.equal(enqueued.length, 1);
  });

  it('no overlap: a tick while a run is going is recorded as skipped, naming that run', () => {
    const { store, cron, clock, enqueued, scheduler } = setup();
    scheduler.sync([weekly()]);
    const job = cron.live()[0]!;
    const manual = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual', at: monday1 - HOUR }).run;
    store.runs.setStatus(manual.id, 'running', { at: monday1 - HOUR });

    clock.now = monday1;
    job.tick(monday1);
    const [skipped] = store.runs.listRecent('demand-forecast', 1);
    assert.deepEqual(
      [skipped!.trigger, skipped!.status, skipped!.scheduledFor, skipped!.reason, skipped!.finishedAt],
      ['schedule', 'skipped', monday1, `run ${manual.id} is still running`, monday1],
    );
    assert.equal(enqueued.length, 0, 'a skipped run is not handed to the run queue');
    job.tick(monday1);
    assert.equal(store.runs.listRecent('demand-forecast', 10).length, 2, 'a double tick of a skipped fire time changes nothing');

    // Once the run is over, the next fire time queues; while that one waits, the one after is skipped.
    store.runs.setStatus(manual.id, 'succeeded', { at: monday1 + HOUR });
    job.tick(monday2);
    const queued = store.runs.listRecent('demand-forecast', 1)[0]!;
    assert.deepEqual([queued.status, queued.scheduledFor], ['queued', monday2]);
    job.tick(monday3);
    assert.equal(store.runs.listRecent('demand-forecast', 1)[0]!.reason, `run ${queued.id} is still queued`);
    assert.deepEqual(
      enqueued.map((r) => r.id),
      [queued.id],
    );
  });

  it('a run of another pipeline does not block', () => {
    const { store, cron, scheduler } = setup();
    scheduler.sync([weekly()]);
    store.runs.enqueue({ pipeline: 'churn', trigger: 'manual' });
    cron.live()[0]!.tick(monday1);
    assert.equal(store.runs.listRecent('demand-forecast', 1)[0]!.status, 'queued');
  });

  it('a store failure is logged, not thrown into the cron library', () => {
    const { store, cron, lines, scheduler } = setup();
    scheduler.sync([weekly()]);
    store.close();
    assert.doesNotThrow(() => cron.live()[0]!.tick(monday1));
    assert.ok(
      lines.some((l) => l.includes('error') && l.includes('could not record the 2026-01-05T02:00:00.000Z fire time')),
      lines.join('\n'),
    );
  });
});

describe('catch-up after downtime', () => {
  it('queues one catch_up run for the most recent of several missed fire times', () => {
    const { store, clock, enqueued, scheduler } = setup();
    const last = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'schedule', scheduledFor: monday1, at: monday1 }).run;
    store.runs.setStatus(last.id, 'succeeded', { at: monday1 + HOUR });
    // Down from just after monday1 until Wednesday of week 3: monday2 and monday3 were missed.
    clock.now = monday3 + 2 * DAY;
    scheduler.sync([weekly()]);
    const caught = scheduler.catchUp();
    assert.equal(caught.length, 1);
    assert.deepEqual([caught[0]!.trigger, caught[0]!.status, caught[0]!.scheduledFor], ['catch_up', 'queued', monday3]);
    assert.deepEqual(enqueued, caught);
    assert.equal(store.runs.listRecent('demand-forecast', 10).length, 2);
    assert.deepEqual(scheduler.catchUp(), [], 'a second catch-up finds nothing missed');
  });

  it('catches up nothing when nothing was missed', () => {
    const { store, clock, enqueued, scheduler } = setup();
    store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'schedule', scheduledFor: monday2, at: monday2 });
    clock.now = monday2 + 3 * DAY;
    scheduler.sync([weekly()]);
    assert.deepEqual(scheduler.catchUp(), []);
    assert.deepEqual(enqueued, []);
  });

  it('never runs a fire time from before the daemon knew the pipeline or its schedule', () => {
    const { store, clock, scheduler } = setup();
    clock.now = monday2 + DAY;
    scheduler.sync([weekly({ knownSince: monday2 + HOUR })]);
    assert.deepEqual(scheduler.catchUp(), []);
    assert.equal(store.runs.listRecent('demand-forecast', 10).length, 0);
  });

  it('catches up a pipeline that never ran, if it was known before the missed fire time', () => {
    const { scheduler, clock } = setup();
    clock.now = monday2 + DAY;
    scheduler.sync([weekly({ knownSince: monday2 - DAY })]);
    assert.deepEqual(
      scheduler.catchUp().map((r) => [r.trigger, r.scheduledFor]),
      [['catch_up', monday2]],
    );
  });

  it('reads the missed fire time in the pipeline time zone', () => {
    const { scheduler, clock } = setup();
    clock.now = Date.UTC(2026, 6, 8); // a Wednesday in summer
    scheduler.sync([weekly({ timeZone: 'Europe/Berlin', knownSince: Date.UTC(2026, 0, 1) })]);
    assert.deepEqual(
      scheduler.catchUp().map((r) => r.scheduledFor),
      [Date.UTC(2026, 6, 6, 0)], // Monday 2am CEST
    );
  });

  it('records a missed fire time as skipped while a run is still going', () => {
    const { store, clock, enqueued, scheduler } = setup();
    const queued = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'change', at: monday1 }).run;
    clock.now = monday2 + DAY;
    scheduler.sync([weekly()]);
    const [run] = scheduler.catchUp();
    assert.deepEqual(
      [run!.trigger, run!.status, run!.scheduledFor, run!.reason],
      ['catch_up', 'skipped', monday2, `run ${queued.id} is still queued`],
    );
    assert.deepEqual(enqueued, []);
  });

  it('looks only at synced pipelines with a schedule', () => {
    const { store, clock, scheduler } = setup();
    clock.now = monday2 + DAY;
    scheduler.sync([weekly({ name: 'on-demand', schedule: null })]);
    assert.deepEqual(scheduler.catchUp(), []);
    assert.equal(store.runs.listRecent('on-demand', 10).length, 0);
  });

  it('a tick racing catch-up for the same fire time does not queue twice', () => {
    const { store, cron, clock, scheduler } = setup();
    clock.now = monday2 + 10_000;
    scheduler.sync([weekly()]);
    assert.equal(scheduler.catchUp().length, 1);
    cron.live()[0]!.tick(monday2);
    assert.deepEqual(
      store.runs.listRecent('demand-forecast', 10).map((r) => [r.trigger, r.scheduledFor]),
      [['catch_up', monday2]],
    );
  });
});

describe('sync', () => {
  it('keeps unchanged jobs, replaces changed schedules and time zones, stops removed ones', () => {
    const { cron, store, scheduler } = setup();
    const churn = weekly({ name: 'churn', schedule: '@daily' });
    const prices = weekly({ name: 'prices', schedule: '*/15 * * * *' });
    scheduler.sync([weekly(), churn, prices]);
    assert.equal(cron.live().length, 3);
    const [forecastJob, churnJob, pricesJob] = cron.jobs;

    scheduler.sync([weekly({ schedule: '0 3 * * 1', knownSince: monday1 }), { ...churn, timeZone: 'Europe/Berlin' }, prices]);
    assert.equal(forecastJob!.stopped, true);
    assert.equal(churnJob!.stopped, true);
    assert.equal(pricesJob!.stopped, false, 'an unchanged schedule keeps running');
    assert.deepEqual(
      cron
        .live()
        .map((j) => [j.expression, j.timeZone])
        .sort(),
      [
        ['*/15 * * * *', 'UTC'],
        ['0 3 * * 1', 'UTC'],
        ['@daily', 'Europe/Berlin'],
      ],
    );

    // The replacement job records under the same pipeline.
    cron
      .live()
      .find((j) => j.expression === '0 3 * * 1')!
      .tick(monday1 + HOUR);
    assert.equal(store.runs.listRecent('demand-forecast', 1)[0]!.scheduledFor, monday1 + HOUR);

    scheduler.sync([{ ...prices, schedule: null }]);
    assert.deepEqual(cron.live(), [], 'removed pipelines and removed schedules stop');
    scheduler.sync([prices]);
    assert.equal(cron.live().length, 1);
    scheduler.stop();
    assert.deepEqual(cron.live(), []);
  });

  it('a changed knownSince alone does not restart a job but counts for catch-up', () => {
    const { cron, clock, scheduler } = setup();
    scheduler.sync([weekly()]);
    clock.now = monday2 + DAY;
    scheduler.sync([weekly({ knownSince: monday2 + HOUR })]);
    assert.equal(cron.jobs.length, 1);
    assert.deepEqual(scheduler.catchUp(), []);
  });

  it('a schedule the driver refuses is logged; the others are scheduled', () => {
    const { lines, cron } = setup();
    const refusing: CronDriver = {
      schedule(expression, timeZone, onTick) {
        if (expression === 'bad') throw new Error('no such schedule');
        return cron.driver.schedule(expression, timeZone, onTick);
      },
    };
    const store = freshStore();
    const s = createScheduler({
      store,
      cron: refusing,
      now: () => monday1,
      log: createLogger({ write: (l) => lines.push(l) }),
      onEnqueued: () => {},
    });
    s.sync([weekly({ name: 'broken', schedule: 'bad' }), weekly()]);
    assert.equal(cron.live().length, 1);
    assert.ok(
      lines.some((l) => l.includes('broken') && l.includes("cannot schedule 'bad': Error: no such schedule")),
      lines.join('\n'),
    );
    s.stop();
  });
});
