/**
 * Cron schedules, pure: a validator so `mlp validate` can say exactly what is wrong without loading
 * the scheduler, and the fire-time math the scheduler uses. It accepts a strict subset of what
 * node-cron 4 runs: the classic Vixie cron syntax, nothing vendor-specific (no seconds field, no
 * L, W, # or ?).
 *
 * Semantics (the same as Vixie cron and crontab.guru):
 * - 0 and 7 are Sunday; names (JAN-DEC, SUN-SAT) stand for their numbers.
 * - Day rule: when the day-of-month and day-of-week fields are both restricted (neither starts
 *   with `*`), a day matches if EITHER matches (`0 0 1 * MON` = the 1st and every Monday);
 *   otherwise both must (`0 0 * * MON` = Mondays). A step over `*` counts as unrestricted, as
 *   in Vixie cron: every other day-of-month, stepped from `*`, AND Monday means odd-dated Mondays.
 * - Time zones: a schedule reads the wall clock of an IANA zone (default: the process's zone).
 *   Daylight saving: a wall-clock minute that does not exist (clocks jump forward over it) does
 *   not fire that day; one that exists twice (clocks go back) fires once, at its first occurrence.
 */

import { MlpError } from '../errors.js';

/** The macros, spelled out (the same expansions node-cron uses). */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface Field {
  name: string;
  min: number;
  max: number;
  /** Three-letter names accepted in place of numbers, index = value - min. */
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 7 is Sunday too, as in every common cron.
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The expression with a macro replaced by its five fields; anything else unchanged. */
export function expandCronMacro(expression: string): string {
  return CRON_MACROS[expression.trim().toLowerCase()] ?? expression.trim();
}

/** Why `expression` is not a valid schedule, or undefined when it is. */
export function validateCron(expression: string): string | undefined {
  const parsed = parseFields(expression);
  if (typeof parsed === 'string') return parsed;
  // Under the either-day rule the day-of-week alone makes some day of every month due.
  if (dayRuleOf(parsed.parts) === 'either') return undefined;
  return impossibleDate(parsed.parts, parsed.values[2]!, parsed.values[3]!);
}

/** Vixie cron: either day field may match only when both are restricted, i.e. neither starts with `*`. */
const dayRuleOf = (parts: string[]): 'either' | 'both' => (parts[2]!.startsWith('*') || parts[4]!.startsWith('*') ? 'both' : 'either');

interface ParsedFields {
  /** The five fields as written (a macro expanded). */
  parts: string[];
  values: Set<number>[];
}

function parseFields(expression: string): ParsedFields | string {
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) {
    const expanded = CRON_MACROS[trimmed.toLowerCase()];
    if (expanded === undefined) return `unknown macro '${trimmed}' (use one of ${Object.keys(CRON_MACROS).join(', ')})`;
    return parseFields(expanded);
  }
  const parts = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (parts.length !== FIELDS.length) return `expected 5 fields, got ${parts.length} (minute hour day-of-month month day-of-week)`;
  const values: Set<number>[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const result = parseField(parts[i]!, field);
    if (typeof result === 'string') return result;
    values.push(result);
  }
  return { parts, values };
}

/** The values a field selects, or why it is invalid. */
function parseField(text: string, field: Field): Set<number> | string {
  const selected = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') return `${field.name} '${text}' has an empty list item`;
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) return `${field.name} '${item}' has more than one '/'`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) return `${field.name} step '${stepText}' is not a whole number`;
      step = Number(stepText);
      if (step < 1) return `${field.name} step must be at least 1, got ${step}`;
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = field.min;
      to = field.max;
    } else {
      const bounds = range!.split('-');
      if (bounds.length > 2) return `${field.name} range '${range}' has more than one '-'`;
      const first = parseValue(bounds[0]!, field);
      if (typeof first === 'string') return first;
      const last = bounds.length === 2 ? parseValue(bounds[1]!, field) : first;
      if (typeof last === 'string') return last;
      if (last < first) return `${field.name} range '${range}' goes backwards (${first} > ${last})`;
      // `5/15` means "from 5 on" in some crons and nothing in others; say what is meant instead.
      if (stepText !== undefined && bounds.length === 1) {
        return `${field.name} step '${item}' needs a range or '*' before the '/' (e.g. '${range}-${field.max}/${step}' or '*/${step}')`;
      }
      from = first;
      to = last;
    }
    for (let v = from; v <= to; v += step) selected.add(field.name === 'day-of-week' && v === 7 ? 0 : v);
  }
  return selected;
}

function parseValue(text: string, field: Field): number | string {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < field.min || value > field.max) return `${field.name} ${value} is out of range ${field.min}-${field.max}`;
    return value;
  }
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return field.min + index;
  if (text === '') return `${field.name} has an empty value`;
  const names = field.names ? ` or a name ${field.names[0]}-${field.names[field.names.length - 1]}` : '';
  return `${field.name} '${text}' is not a number ${field.min}-${field.max}${names}`;
}

/** A day-of-month that no selected month has (e.g. 30 February) would never fire. */
function impossibleDate(parts: string[], days: Set<number>, months: Set<number>): string | undefined {
  for (const m of months) {
    for (const d of days) if (d <= DAYS_IN_MONTH[m - 1]!) return undefined;
  }
  return `day-of-month '${parts[2]}' never occurs in month '${parts[3]}', so the schedule would never run`;
}

/** One wall-clock minute as cron reads it. */
export interface CronFields {
  minute: number;
  hour: number;
  /** 1-31. */
  dayOfMonth: number;
  /** 1-12. */
  month: number;
  /** 0-6, Sunday 0 (7 is read as Sunday too). */
  dayOfWeek: number;
}

/** A schedule parsed once (`parseCron`): what each field selects, ascending, and the day rule in force. */
export class CronSchedule {
  private readonly inMinute = new Uint8Array(60);
  private readonly inHour = new Uint8Array(24);
  private readonly inDay = new Uint8Array(32);
  private readonly inMonth = new Uint8Array(13);
  private readonly inWeekday = new Uint8Array(7);

  constructor(
    /** The expression as written (trimmed; a macro stays a macro). */
    readonly expression: string,
    readonly minutes: readonly number[],
    readonly hours: readonly number[],
    readonly daysOfMonth: readonly number[],
    readonly months: readonly number[],
    /** 0-6, Sunday 0. */
    readonly daysOfWeek: readonly number[],
    /** `either` when both day fields are restricted (Vixie cron), else `both`. */
    readonly dayRule: 'either' | 'both',
  ) {
    for (const [values, table] of [
      [minutes, this.inMinute],
      [hours, this.inHour],
      [daysOfMonth, this.inDay],
      [months, this.inMonth],
      [daysOfWeek, this.inWeekday],
    ] as const) {
      for (const v of values) table[v] = 1;
    }
  }

  matches(f: CronFields): boolean {
    return (
      this.matchesMonth(f.month) &&
      this.matchesDay(f.dayOfMonth, f.dayOfWeek % 7) &&
      this.matchesHour(f.hour) &&
      this.matchesMinute(f.minute)
    );
  }

  matchesMinute(minute: number): boolean {
    return this.inMinute[minute] === 1;
  }

  matchesHour(hour: number): boolean {
    return this.inHour[hour] === 1;
  }

  matchesMonth(month: number): boolean {
    return this.inMonth[month] === 1;
  }

  /** Whether a date (day of month 1-31, weekday 0-6) is due under the day rule. */
  matchesDay(dayOfMonth: number, dayOfWeek: number): boolean {
    const day = this.inDay[dayOfMonth] === 1;
    const weekday = this.inWeekday[dayOfWeek] === 1;
    return this.dayRule === 'either' ? day || weekday : day && weekday;
  }
}

/** Parses a schedule that `validateCron` accepts, or one that is merely never due (30 February). Throws `invalid_config` otherwise. */
export function parseCron(expression: string): CronSchedule {
  const parsed = parseFields(expression);
  if (typeof parsed === 'string') throw new MlpError('invalid_config', `schedule '${expression}' is not valid cron: ${parsed}`);
  const [minutes, hours, days, months, weekdays] = parsed.values.map((v) => [...v].sort((a, b) => a - b)) as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  return new CronSchedule(expression.trim(), minutes, hours, days, months, weekdays, dayRuleOf(parsed.parts));
}

/** `t` (epoch ms) floored to its whole minute. */
export function floorToMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

/** The first fire time strictly after `after`, in `timeZone` (default: the process's). Throws when the schedule never fires (30 February). */
export function nextFireTime(schedule: CronSchedule, after: Date, timeZone?: string): Date {
  const zone = new WallClock(timeZone);
  const bound = after.getTime();
  const from = zone.wallMinuteOf(floorToMinute(bound)) + 1;
  // Wall-clock order is instant order once each minute is mapped to its first occurrence, so the
  // first wall-clock match whose instant lies after the bound is the answer.
  const found = scan(schedule, from, from + NEXT_SEARCH_MINUTES, 1, (w) => {
    const t = zone.firstInstantOf(w);
    return t !== null && t > bound ? t : null;
  });
  if (found === null) throw new MlpError('invalid_config', `schedule '${schedule.expression}' never fires`);
  return new Date(found);
}

/**
 * The latest fire time at or before `atOrBefore`, in `timeZone` (default: the process's); null when
 * there is none in the year (and a few days) before it, e.g. for 30 February.
 */
export function previousFireTime(schedule: CronSchedule, atOrBefore: Date, timeZone?: string): Date | null {
  const zone = new WallClock(timeZone);
  const bound = atOrBefore.getTime();
  const local = zone.wallMinuteOf(floorToMinute(bound));
  // Just after clocks went back, wall-clock minutes later than now already had their first
  // occurrence (before the change): start that far ahead.
  const from = local + zone.recentSetBackMinutes(bound);
  return toDate(
    scan(schedule, from, local - PREVIOUS_SEARCH_MINUTES, -1, (w) => {
      const t = zone.firstInstantOf(w);
      return t !== null && t <= bound ? t : null;
    }),
  );
}

/** Whether `at` is a fire time of the schedule in `timeZone`: a whole minute, matching, and the first occurrence of its wall-clock minute. */
export function isFireTime(schedule: CronSchedule, at: Date, timeZone?: string): boolean {
  const t = at.getTime();
  if (t !== floorToMinute(t)) return false;
  return previousFireTime(schedule, at, timeZone)?.getTime() === t;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** Far enough for any schedule that fires at all, 29 February on a given weekday included. */
const NEXT_SEARCH_MINUTES = 100 * 366 * MINUTES_PER_DAY;
const PREVIOUS_SEARCH_MINUTES = 370 * MINUTES_PER_DAY;

const toDate = (t: number | null): Date | null => (t === null ? null : new Date(t));

/**
 * Walks wall-clock minutes (counted as minutes since 1970-01-01 00:00 of the same reading in UTC)
 * from `from` towards `limit` in `direction`, jumping over months, days and hours that do not
 * match, and returns the first non-null `accept` of a matching minute.
 */
function scan(s: CronSchedule, from: number, limit: number, direction: 1 | -1, accept: (wall: number) => number | null): number | null {
  let w = from;
  while (direction === 1 ? w <= limit : w >= limit) {
    const d = new Date(w * MINUTE_MS);
    if (!s.matchesMonth(d.getUTCMonth() + 1)) {
      const firstOfMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + (direction === 1 ? 1 : 0), 1) / MINUTE_MS;
      w = direction === 1 ? firstOfMonth : firstOfMonth - 1;
    } else if (!s.matchesDay(d.getUTCDate(), d.getUTCDay())) {
      w = direction === 1 ? startOf(w, MINUTES_PER_DAY) + MINUTES_PER_DAY : startOf(w, MINUTES_PER_DAY) - 1;
    } else if (!s.matchesHour(d.getUTCHours())) {
      w = direction === 1 ? startOf(w, 60) + 60 : startOf(w, 60) - 1;
    } else if (!s.matchesMinute(d.getUTCMinutes())) {
      w += direction;
    } else {
      const found = accept(w);
      if (found !== null) return found;
      w += direction;
    }
  }
  return null;
}

const startOf = (w: number, unit: number) => Math.floor(w / unit) * unit;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock readings of one time zone, by `Intl` (cached per zone). */
class WallClock {
  private readonly format: Intl.DateTimeFormat;

  constructor(timeZone: string | undefined) {
    const zone = timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
    let format = formatters.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
      formatters.set(zone, format);
    }
    this.format = format;
  }

  /** The wall-clock minute at instant `t`. */
  wallMinuteOf(t: number): number {
    const f: Record<string, number> = {};
    for (const part of this.format.formatToParts(t)) if (part.type !== 'literal') f[part.type] = Number(part.value);
    return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!) / MINUTE_MS;
  }

  /** The zone's offset from UTC at instant `t`, in minutes. */
  offsetAt(t: number): number {
    return this.wallMinuteOf(floorToMinute(t)) - Math.floor(t / MINUTE_MS);
  }

  /**
   * The first instant whose wall clock reads minute `w`, or null when none does (skipped by a
   * change to summer time). Assumes at most one offset change within a day of it.
   */
  firstInstantOf(w: number): number | null {
    const before = this.offsetAt(w * MINUTE_MS - DAY_MS);
    const after = this.offsetAt(w * MINUTE_MS + DAY_MS);
    // The larger offset gives the earlier instant.
    for (const offset of before === after ? [before] : [Math.max(before, after), Math.min(before, after)]) {
      const t = (w - offset) * MINUTE_MS;
      if (this.offsetAt(t) === offset) return t;
    }
    return null;
  }

  /** How many minutes the clocks went back within the day before `t` (0 when they did not). */
  recentSetBackMinutes(t: number): number {
    return Math.max(0, this.offsetAt(t - DAY_MS) - this.offsetAt(t));
  }
}
