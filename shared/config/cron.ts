/**
 * A pure validator for 5-field cron schedules, so `mlp validate` can say exactly what is wrong
 * without loading the scheduler. It accepts a strict subset of what node-cron 4 runs: the classic
 * Vixie cron syntax, nothing vendor-specific (no seconds field, no L, W, # or ?).
 */

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
  const trimmed = expression.trim();
  if (trimmed.startsWith('@')) {
    return trimmed.toLowerCase() in CRON_MACROS
      ? undefined
      : `unknown macro '${trimmed}' (use one of ${Object.keys(CRON_MACROS).join(', ')})`;
  }
  const parts = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (parts.length !== FIELDS.length) return `expected 5 fields, got ${parts.length} (minute hour day-of-month month day-of-week)`;
  const values: Set<number>[] = [];
  for (const [i, field] of FIELDS.entries()) {
    const result = parseField(parts[i]!, field);
    if (typeof result === 'string') return result;
    values.push(result);
  }
  return impossibleDate(parts, values[2]!, values[3]!);
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
