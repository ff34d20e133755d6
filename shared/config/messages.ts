/**
 * Messages for data scientists instead of zod's defaults: say what is wrong, what is allowed and
 * what was found. Fields with a specific rule carry their own message in the schema; this map
 * covers the rest, by issue kind.
 */
import type { z } from 'zod';
import { didYouMean } from './suggest.js';

type Path = readonly PropertyKey[];

/** The key a message talks about: the last key of the path, with any list index after it (`checks[2]`). */
export function keyOf(path: Path | undefined): string {
  const segments = path ?? [];
  let end = segments.length;
  while (end > 0 && typeof segments[end - 1] === 'number') end--;
  const key = end > 0 ? String(segments[end - 1]) : 'the file';
  return (
    key +
    segments
      .slice(end)
      .map((i) => `[${String(i)}]`)
      .join('')
  );
}

/** "a string ('ten')", "a list", "an empty value": what the reader actually wrote. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return `a string ('${value.length > 60 ? `${value.slice(0, 57)}...` : value}')`;
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** The value as it would be quoted in a message: strings in quotes, the rest as written. */
export function quoteValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : value === null || value === undefined ? 'an empty value' : String(value);
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  record: 'a mapping',
};

/** A friendly message for the issue kinds the schema does not word itself; undefined keeps zod's. */
export const friendlyMessage: z.core.$ZodErrorMap = (iss) => {
  const key = keyOf(iss.path);
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return `missing required key '${key}'`;
      if (iss.expected === 'int' && typeof iss.input === 'number') return `${key} must be a whole number, got ${iss.input}`;
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'invalid_value': {
      const allowed = iss.values.map((v) => quoteValue(v));
      const hint = typeof iss.input === 'string' ? didYouMean(iss.input, iss.values.map(String)) : '';
      if (allowed.length === 1) return `${key} must be ${allowed[0]}, got ${quoteValue(iss.input)}${hint}`;
      return `${key} must be one of ${allowed.join(', ')}, got ${quoteValue(iss.input)}${hint}`;
    }
    case 'too_small':
      if (iss.origin === 'string')
        return iss.minimum === 1 ? `${key} must not be empty` : `${key} must be at least ${iss.minimum} characters long`;
      if (iss.origin === 'array') return `${key} must list at least ${iss.minimum} ${iss.minimum === 1 ? 'entry' : 'entries'}`;
      return `${key} must be ${iss.inclusive ? 'at least' : 'above'} ${iss.minimum}, got ${quoteValue(iss.input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `${key} must be at most ${iss.maximum} characters long, got ${String(iss.input).length}`;
      if (iss.origin === 'array') return `${key} must list at most ${iss.maximum} entries`;
      return `${key} must be ${iss.inclusive ? 'at most' : 'below'} ${iss.maximum}, got ${quoteValue(iss.input)}`;
    case 'invalid_format':
      return `${key} has the wrong format, got ${quoteValue(iss.input)}`;
    case 'unrecognized_keys':
      return iss.keys.map((k) => `unknown key '${k}'`).join('; ');
    case 'invalid_key':
      return `invalid key ${quoteValue(iss.input)} in ${keyOf(iss.path?.slice(0, -1))}`;
    default:
      return undefined;
  }
};
