import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  floorToMinute,
  isFireTime,
  nextFireTime,
  parseCron,
  previousFireTime,
  validateCron,
  type CronSchedule,
} from '../../../shared/config/cron.js';
import { MlpError } from '../../../shared/errors.js';

const NY = 'America/New_York';
const iso = (d: Date | null) => d?.toISOString() ?? null;
const at = (text: string) => new Date(text);

/** The next `count` fire times after `from`. */
function nextN(schedule: CronSchedule, from: Date, count: number, timeZone?: string): string[] {
  const out: string[] = [];
  for (let t = from; out.length < count;) {
    t = nextFireTime(schedule, t, timeZone);
    out.push(t.toISOString());
  }
  return out;
}

/** Fire times by brute force: every instant minute, read in the zone; a wall-clock minute counts the first time it is seen. */
function bruteForce(schedule: CronSchedule, from: number, to: number, timeZone: string): string[] {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const seen = new Set<string>();
  const out: string[] = [];
  for (let t = from; t <= to; t += 60_000) {
    const p = Object.fromEntries(format.formatToParts(t).map((x) => [x.type, x.value]));
    const wall = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
    if (seen.has(wall)) continue;
    seen.add(wall);
    const fields = { minute: +p.minute!, hour: +p.hour!, dayOfMonth: +p.day!, month: +p.month!, dayOfWeek: weekdays.indexOf(p.weekday!) };
    if (schedule.matches(fields)) out.push(new Date(t).toISOString());
  }
  return out;
}

describe('parseCron', () => {
  it('reads lists, ranges, steps, names, 7 for Sunday and macros into ascending values', () => {
    const s = parseCron('0,30 9-17/2 1,15 jan,JUL MON-FRI');
    assert.deepEqual(
      [s.minutes, s.hours, s.daysOfMonth, s.months, s.daysOfWeek],
      [
        [0, 30],
        [9, 11, 13, 15, 17],
        [1, 15],
        [1, 7],
        [1, 2, 3, 4, 5],
      ],
    );
    assert.deepEqual(parseCron('0 0 * * 5-7').daysOfWeek, [0, 5, 6]);
    const weekly = parseCron(' @Weekly ');
    assert.equal(weekly.expression, '@Weekly');
    assert.deepEqual([weekly.minutes, weekly.hours, weekly.daysOfWeek, weekly.dayRule], [[0], [0], [0], 'both']);
  });

  it('rejects what the validator rejects, with its message; accepts a schedule that is merely never due', () => {
    assert.throws(
      () => parseCron('61 2 * * 1'),
      (err: unknown) =>
        err instanceof MlpError &&
        err.code === 'invalid_config' &&
        err.message === "schedule '61 2 * * 1' is not valid cron: minute 61 is out of range 0-59",
    );
    assert.throws(() => parseCron('@sometimes'), /unknown macro '@sometimes'/);
    assert.match(validateCron('0 0 30 2 *') ?? '', /never occurs/);
    assert.deepEqual(parseCron('0 0 30 2 *').daysOfMonth, [30]);
  });

  it('uses the Vixie day rule: either day field when both are restricted, else both', () => {
    const tuesdayFirst = { minute: 0, hour: 0, dayOfMonth: 1, month: 9, dayOfWeek: 2 };
    const mondayFifth = { minute: 0, hour: 0, dayOfMonth: 5, month: 1, dayOfWeek: 1 };
    const mondayThird = { minute: 0, hour: 0, dayOfMonth: 3, month: 1, dayOfWeek: 1 };
    const either = parseCron('0 0 1 * MON');
    assert.equal(either.dayRule, 'either');
    assert.equal(either.matches(tuesdayFirst), true);
    assert.equal(either.matches(mondayFifth), true);
    assert.equal(either.matches({ ...mondayFifth, dayOfWeek: 3 }), false);
    assert.equal(parseCron('0 0 * * MON').matches(tuesdayFirst), false);
    // A step over '*' is unrestricted, as in Vixie cron: odd days AND Monday.
    const stepped = parseCron('0 0 */2 * MON');
    assert.equal(stepped.dayRule, 'both');
    assert.equal(stepped.matches(mondayThird), true);
    assert.equal(stepped.matches({ ...mondayThird, dayOfMonth: 4 }), false);
    assert.equal(stepped.matches({ ...mondayThird, dayOfWeek: 2 }), false);
    assert.equal(parseCron('0 0 * * 7').matches({ ...mondayFifth, dayOfWeek: 7 }), true, '7 reads as Sunday');
    assert.equal(parseCron('0 0 * * 0').matches({ ...mondayFifth, dayOfWeek: 7 }), true);
    assert.equal(parseCron('0 0 * * 0').matches({ ...mondayFifth, hour: 1, dayOfWeek: 0 }), false);
  });
});

describe('nextFireTime and previousFireTime in UTC', () => {
  it('next is the first whole minute strictly after; previous the latest at or before', () => {
    const quarter = parseCron('*/15 * * * *');
    assert.equal(iso(nextFireTime(quarter, at('2026-05-04T10:07:30Z'), 'UTC')), '2026-05-04T10:15:00.000Z');
    assert.equal(iso(nextFireTime(quarter, at('2026-05-04T10:15:00Z'), 'UTC')), '2026-05-04T10:30:00.000Z');
    assert.equal(iso(nextFireTime(quarter, at('2026-05-04T23:59:59.999Z'), 'UTC')), '2026-05-05T00:00:00.000Z');
    assert.equal(iso(previousFireTime(quarter, at('2026-05-04T10:15:00Z'), 'UTC')), '2026-05-04T10:15:00.000Z');
    assert.equal(iso(previousFireTime(quarter, at('2026-05-04T10:14:59.999Z'), 'UTC')), '2026-05-04T10:00:00.000Z');
    assert.equal(iso(previousFireTime(quarter, at('2026-01-01T00:05:00Z'), 'UTC')), '2026-01-01T00:00:00.000Z');
    assert.equal(iso(previousFireTime(quarter, at('2025-12-31T23:59:00Z'), 'UTC')), '2025-12-31T23:45:00.000Z');
  });

  it('walks weekly, monthly and named schedules across month and year ends', () => {
    const weekly = parseCron('0 2 * * 1');
    assert.deepEqual(nextN(weekly, at('2026-12-20T00:00:00Z'), 3, 'UTC'), [
      '2026-12-21T02:00:00.000Z',
      '2026-12-28T02:00:00.000Z',
      '2027-01-04T02:00:00.000Z',
    ]);
    assert.equal(iso(previousFireTime(weekly, at('2027-01-06T12:00:00Z'), 'UTC')), '2027-01-04T02:00:00.000Z');
    assert.equal(iso(previousFireTime(weekly, at('2027-01-04T01:59:00Z'), 'UTC')), '2026-12-28T02:00:00.000Z');
    assert.deepEqual(nextN(parseCron('0 0 1 jan,jul *'), at('2026-02-10T00:00:00Z'), 3, 'UTC'), [
      '2026-07-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
      '2027-07-01T00:00:00.000Z',
    ]);
    assert.deepEqual(nextN(parseCron('0 9-17/4 * * MON-FRI'), at('2026-05-08T12:00:00Z'), 4, 'UTC'), [
      '2026-05-08T13:00:00.000Z', // Friday
      '2026-05-08T17:00:00.000Z',
      '2026-05-11T09:00:00.000Z', // Monday
      '2026-05-11T13:00:00.000Z',
    ]);
    assert.deepEqual(nextN(parseCron('30 23 31 * *'), at('2026-01-31T23:30:00Z'), 3, 'UTC'), [
      '2026-03-31T23:30:00.000Z',
      '2026-05-31T23:30:00.000Z',
      '2026-07-31T23:30:00.000Z',
    ]);
    assert.deepEqual(nextN(parseCron('0 0 * * 7'), at('2026-05-04T00:00:00Z'), 2, 'UTC'), [
      '2026-05-10T00:00:00.000Z',
      '2026-05-17T00:00:00.000Z',
    ]);
    assert.deepEqual(nextN(parseCron('@monthly'), at('2026-11-15T00:00:00Z'), 2, 'UTC'), [
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });

  it('fires on the 13th OR on Fridays when both day fields are restricted', () => {
    assert.deepEqual(nextN(parseCron('0 0 13 * FRI'), at('2026-03-01T00:00:00Z'), 5, 'UTC'), [
      '2026-03-06T00:00:00.000Z', // Friday
      '2026-03-13T00:00:00.000Z', // Friday the 13th: once
      '2026-03-20T00:00:00.000Z',
      '2026-03-27T00:00:00.000Z',
      '2026-04-03T00:00:00.000Z',
    ]);
    assert.equal(iso(previousFireTime(parseCron('0 0 13 * FRI'), at('2026-04-14T00:00:00Z'), 'UTC')), '2026-04-13T00:00:00.000Z'); // a Monday
    // So 30 February on a Monday is every Monday in February, and valid.
    assert.equal(validateCron('0 0 30 2 MON'), undefined);
    assert.equal(iso(nextFireTime(parseCron('0 0 30 2 MON'), at('2026-03-01T00:00:00Z'), 'UTC')), '2027-02-01T00:00:00.000Z');
    assert.match(validateCron('0 0 30 2 *') ?? '', /never occurs/);
  });

  it('29 February waits for a leap year; 30 February never fires', () => {
    const leap = parseCron('0 0 29 2 *');
    assert.equal(iso(nextFireTime(leap, at('2026-03-01T00:00:00Z'), 'UTC')), '2028-02-29T00:00:00.000Z');
    assert.equal(iso(previousFireTime(leap, at('2025-01-10T00:00:00Z'), 'UTC')), '2024-02-29T00:00:00.000Z');
    assert.equal(previousFireTime(leap, at('2026-03-01T00:00:00Z'), 'UTC'), null, 'the search goes back about a year');
    const never = parseCron('0 0 30 2 *');
    assert.equal(previousFireTime(never, at('2026-03-01T00:00:00Z'), 'UTC'), null);
    assert.throws(() => nextFireTime(never, at('2026-03-01T00:00:00Z'), 'UTC'), /schedule '0 0 30 2 \*' never fires/);
  });

  it('agrees with a minute-by-minute search over random schedules', () => {
    const schedules = ['7,37 */3 * * *', '0 0 1 * MON', '15 4 10-20 * 2-3', '0 12 * 2,3 */2', '*/20 1-2 * * SAT,SUN'];
    const from = Date.UTC(2026, 1, 25);
    const to = Date.UTC(2026, 2, 4); // across a month end, with a 1st, Mondays and weekends
    for (const expr of schedules) {
      const s = parseCron(expr);
      const expected = bruteForce(s, from + 60_000, to, 'UTC');
      assert.ok(expected.length > 0, expr);
      const got: string[] = [];
      for (let t = nextFireTime(s, new Date(from), 'UTC'); t.getTime() <= to; t = nextFireTime(s, t, 'UTC')) got.push(t.toISOString());
      assert.deepEqual(got, expected, expr);
    }
  });
});

describe('fire times in a time zone', () => {
  it('reads the wall clock of the zone', () => {
    assert.equal(iso(nextFireTime(parseCron('0 9 * * *'), at('2026-05-04T00:00:00Z'), 'Asia/Kolkata')), '2026-05-04T03:30:00.000Z');
    assert.equal(iso(nextFireTime(parseCron('0 2 * * 1'), at('2026-01-01T00:00:00Z'), 'Europe/Berlin')), '2026-01-05T01:00:00.000Z');
    assert.equal(iso(nextFireTime(parseCron('0 2 * * 1'), at('2026-07-01T00:00:00Z'), 'Europe/Berlin')), '2026-07-06T00:00:00.000Z');
    // Monday 2am in Auckland is still Sunday in UTC.
    assert.equal(iso(previousFireTime(parseCron('0 2 * * 1'), at('2026-05-06T00:00:00Z'), 'Pacific/Auckland')), '2026-05-03T14:00:00.000Z');
  });

  it("defaults to the process's zone", () => {
    const zone = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    const s = parseCron('30 2 * * *');
    const from = at('2026-03-01T00:00:00Z');
    assert.deepEqual(nextN(s, from, 3), nextN(s, from, 3, zone));
    assert.equal(iso(previousFireTime(s, from)), iso(previousFireTime(s, from, zone)));
  });

  it('0 2 * * * in New York skips 8 March 2026 (2am does not exist) and fires once on 1 November', () => {
    const daily2am = parseCron('0 2 * * *');
    assert.deepEqual(nextN(daily2am, at('2026-03-06T12:00:00Z'), 3, NY), [
      '2026-03-07T07:00:00.000Z', // EST
      '2026-03-09T06:00:00.000Z', // EDT; no run on the 8th
      '2026-03-10T06:00:00.000Z',
    ]);
    assert.equal(iso(previousFireTime(daily2am, at('2026-03-09T05:59:00Z'), NY)), '2026-03-07T07:00:00.000Z');
    assert.deepEqual(nextN(daily2am, at('2026-10-31T00:00:00Z'), 3, NY), [
      '2026-10-31T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-02T07:00:00.000Z',
    ]);
    assert.equal(iso(previousFireTime(daily2am, at('2026-11-01T06:59:00Z'), NY)), '2026-10-31T06:00:00.000Z');
  });

  it('a wall-clock minute that happens twice fires at its first occurrence only', () => {
    const daily130 = parseCron('30 1 * * *');
    // 1:30 EDT is 05:30Z; clocks go back at 06:00Z, and 1:30 EST (06:30Z) does not fire again.
    assert.deepEqual(nextN(daily130, at('2026-10-31T12:00:00Z'), 2, NY), ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    assert.equal(iso(nextFireTime(daily130, at('2026-11-01T05:45:00Z'), NY)), '2026-11-02T06:30:00.000Z');
    assert.equal(iso(previousFireTime(daily130, at('2026-11-01T06:45:00Z'), NY)), '2026-11-01T05:30:00.000Z');
    assert.equal(isFireTime(daily130, at('2026-11-01T05:30:00Z'), NY), true);
    assert.equal(isFireTime(daily130, at('2026-11-01T06:30:00Z'), NY), false);
    assert.equal(isFireTime(daily130, at('2026-11-01T05:30:10Z'), NY), false, 'not a whole minute');
    assert.equal(isFireTime(daily130, at('2026-11-01T05:31:00Z'), NY), false);
  });

  it('agrees with a minute-by-minute search across both 2026 changes in New York', () => {
    for (const [expr, from, to] of [
      ['*/10 * * * *', '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z'],
      ['*/10 * * * *', '2026-11-01T03:00:00Z', '2026-11-01T09:00:00Z'],
      ['0,30 1-3 * * *', '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'],
      ['0,30 1-3 * * *', '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'],
    ] as const) {
      const s = parseCron(expr);
      const start = Date.parse(from);
      const end = Date.parse(to);
      const expected = bruteForce(s, start + 60_000, end, NY);
      assert.ok(expected.length > 0, expr);
      const got: string[] = [];
      for (let t = nextFireTime(s, new Date(start), NY); t.getTime() <= end; t = nextFireTime(s, t, NY)) got.push(t.toISOString());
      assert.deepEqual(got, expected, `${expr} from ${from}`);
      const back: string[] = [];
      for (let t = previousFireTime(s, new Date(end), NY); t && t.getTime() > start; t = previousFireTime(s, new Date(t.getTime() - 1), NY))
        back.push(t.toISOString());
      assert.deepEqual(back.reverse(), expected, `${expr} backwards to ${from}`);
    }
  });
});

describe('speed', () => {
  it('previousFireTime searches a year back well under 50 ms', () => {
    const weekly = parseCron('0 2 * * 1');
    const never = parseCron('0 0 30 2 *');
    const timed = (fn: () => unknown) => {
      const start = performance.now();
      fn();
      return performance.now() - start;
    };
    // A year of Mondays, one call each, and full-year searches that find nothing.
    let t: Date | null = at('2027-01-01T00:00:00Z');
    const year = timed(() => {
      for (let i = 0; i < 52 && t; i++) t = previousFireTime(weekly, new Date(t.getTime() - 1), NY);
    });
    assert.equal(iso(t), '2026-01-05T07:00:00.000Z');
    const empty = timed(() => previousFireTime(never, at('2027-01-01T00:00:00Z'), NY));
    const gapless = timed(() => previousFireTime(parseCron('0 2 * * 1'), at('2027-01-01T00:00:00Z'), 'Europe/Berlin'));
    assert.ok(year < 50, `52 weekly look-ups took ${year.toFixed(1)} ms`);
    assert.ok(empty < 50, `a year with no fire time took ${empty.toFixed(1)} ms`);
    assert.ok(gapless < 50, `one look-up took ${gapless.toFixed(1)} ms`);
  });

  it('floorToMinute floors', () => {
    assert.equal(floorToMinute(Date.parse('2026-05-04T10:07:59.999Z')), Date.parse('2026-05-04T10:07:00Z'));
    assert.equal(floorToMinute(Date.parse('2026-05-04T10:07:00Z')), Date.parse('2026-05-04T10:07:00Z'));
  });
});
