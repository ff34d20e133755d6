/**
 * Building blocks of the config schema that carry their own wording, so a limit and the message
 * that explains it are written once, side by side.
 */
import { z } from 'zod';
import { PERCENT_RESOLUTION } from '../percent.js';
import { keyOf, quoteValue } from './messages.js';
import { didYouMean } from './suggest.js';

/** Inclusive (`min`, `max`) and exclusive (`above`, `below`) bounds of a number. */
export interface Bounds {
  min?: number;
  above?: number;
  max?: number;
  below?: number;
}

const show = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 6 });

/** "between 1 and 100", "above 0 and at most 1", "at least 0 and below 100", ... */
export function describeBounds(b: Bounds): string {
  const low = b.min !== undefined ? { n: b.min, inclusive: true } : b.above !== undefined ? { n: b.above, inclusive: false } : undefined;
  const high = b.max !== undefined ? { n: b.max, inclusive: true } : b.below !== undefined ? { n: b.below, inclusive: false } : undefined;
  if (low && high && low.inclusive && high.inclusive) return `between ${show(low.n)} and ${show(high.n)}`;
  if (low && high && !low.inclusive && !high.inclusive) return `between ${show(low.n)} and ${show(high.n)}, exclusive`;
  const parts: string[] = [];
  if (low) parts.push(`${low.inclusive ? 'at least' : 'above'} ${show(low.n)}`);
  if (high) parts.push(`${high.inclusive ? 'at most' : 'below'} ${show(high.n)}`);
  return parts.join(' and ');
}

/**
 * A number within `bounds`; every violation reads "KEY must be RANGE, got VALUE". `explain` adds
 * why the limit exists; `messages` replaces the wording for one side entirely.
 */
export function boundedNumber(
  bounds: Bounds,
  options: { int?: boolean; explain?: string; messages?: { tooBig?: string; tooSmall?: string } } = {},
) {
  const wrong = (iss: { path?: readonly PropertyKey[]; input?: unknown }) =>
    `${keyOf(iss.path)} must be ${describeBounds(bounds)}${options.explain ? ` (${options.explain})` : ''}, got ${quoteValue(iss.input)}`;
  const small = { error: options.messages?.tooSmall ?? wrong };
  const big = { error: options.messages?.tooBig ?? wrong };
  let schema = options.int ? z.int() : z.number();
  if (bounds.min !== undefined) schema = schema.gte(bounds.min, small);
  if (bounds.above !== undefined) schema = schema.gt(bounds.above, small);
  if (bounds.max !== undefined) schema = schema.lte(bounds.max, big);
  if (bounds.below !== undefined) schema = schema.lt(bounds.below, big);
  return schema;
}

/**
 * A share of traffic in percent, within `bounds`, with at most two decimals (12.5 and 33.33 are
 * fine, 12.345 is not): the resolution the daemon stores weights in and the router splits by.
 */
export function percentage(bounds: Bounds, options: { messages?: { tooBig?: string; tooSmall?: string } } = {}) {
  return boundedNumber(bounds, options).multipleOf(PERCENT_RESOLUTION, {
    error: (iss) =>
      `${keyOf(iss.path)} must have at most two decimals (traffic moves in steps of ${PERCENT_RESOLUTION}%), got ${quoteValue(iss.input)}`,
  });
}

/** A string matching `pattern`; a mismatch reads "KEY must be WHAT, got 'VALUE'". */
export function patternString(pattern: RegExp, what: string) {
  return z.string().regex(pattern, { error: (iss) => `${keyOf(iss.path)} must be ${what}, got ${quoteValue(iss.input)}` });
}

/** A string that is not empty (commands, paths). */
export function nonEmptyString() {
  return z.string().min(1);
}

/**
 * Lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters:
 * a pipeline name becomes an endpoint name (SageMaker allows 63 characters).
 */
export function slug() {
  return patternString(/^[a-z0-9][a-z0-9_-]*$/, "a lowercase slug (a-z, 0-9, '-' and '_', starting with a letter or digit)").max(63, {
    error: (iss) => `${keyOf(iss.path)} must be at most 63 characters long (it becomes an endpoint name), got ${String(iss.input).length}`,
  });
}

/** A SQL-style identifier: a connection, table or column name. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone name, checked against the runtime's time zone database (as the scheduler will be). */
export function timeZone() {
  return z.string().refine(isTimeZone, {
    error: (iss) =>
      `${keyOf(iss.path)} must be an IANA time zone name like 'Europe/Berlin' or 'UTC', got ${quoteValue(iss.input)}` +
      didYouMean(String(iss.input), Intl.supportedValuesOf('timeZone')),
  });
}

type PathPattern = readonly (PropertyKey | '*')[];

/** Whether an issue at `path` concerns the node `pattern` names: one is a prefix of the other. */
function overlaps(path: readonly PropertyKey[], pattern: PathPattern): boolean {
  const n = Math.min(path.length, pattern.length);
  for (let i = 0; i < n; i++) if (pattern[i] !== '*' && pattern[i] !== path[i]) return false;
  return true;
}

/**
 * Options for a cross-field rule (`superRefine`) that should run unless the keys it reads are
 * themselves invalid. zod skips refinements after any issue in the mapping; then a user fixing
 * one mistake would only discover the next on the following run. `*` matches any list index.
 */
export function unlessInvalid(...reads: PathPattern[]): { when: (payload: z.core.ParsePayload) => boolean } {
  return {
    when: (payload) =>
      payload.value !== null &&
      typeof payload.value === 'object' &&
      // Unknown keys and other rules' verdicts leave the values a rule reads well-typed.
      !payload.issues.some(
        (iss) => iss.code !== 'unrecognized_keys' && iss.code !== 'custom' && reads.some((p) => overlaps(iss.path ?? [], p)),
      ),
  };
}
