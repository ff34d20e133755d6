/**
 * Great Expectations suites as JSON files, in either format:
 *   1.x   {"name": "...", "expectations": [{"type": "expect_...", "kwargs": {...}, "meta": {...}}]}
 *   0.18  {"expectation_suite_name": "...", "expectations": [{"expectation_type": "expect_...", "kwargs": {...}}]}
 * Both become the 1.x shape. Anything else is an error that says what was expected: a suite that
 * cannot be read must fail its check, never pass it by checking nothing.
 */
import { readFile } from 'node:fs/promises';
import { MlpError } from '../../shared/errors.js';

export interface ExpectationConfig {
  type: string;
  kwargs: Record<string, unknown>;
  meta: Record<string, unknown>;
}

export interface Suite {
  name: string;
  format: '1.x' | '0.18';
  expectations: ExpectationConfig[];
}

// Result presentation options, not part of what is checked: the engines choose the result format.
const PRESENTATION_KWARGS = new Set(['result_format', 'include_config', 'catch_exceptions']);

const FORMATS =
  'a Great Expectations suite: 1.x {"name", "expectations": [{"type", "kwargs"}]} or 0.18 {"expectation_suite_name", "expectations": [{"expectation_type", "kwargs"}]}';

export async function readSuite(path: string, label = path): Promise<Suite> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MlpError('not_found', `suite ${label} does not exist (${path})`);
    throw new MlpError('check_failed', `suite ${label} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MlpError('check_failed', `suite ${label} is not valid JSON: ${(err as Error).message}`);
  }
  return parseSuite(json, label);
}

export function parseSuite(json: unknown, label: string): Suite {
  const bad = (why: string) => new MlpError('check_failed', `suite ${label}: ${why}`);
  if (!isObject(json)) throw bad(`expected ${FORMATS}; found ${describe(json)}`);
  const legacyName = json.expectation_suite_name;
  const list = json.expectations;
  if (!Array.isArray(list)) throw bad(`expected ${FORMATS}; it has no "expectations" list`);
  const first = list.find(isObject);
  const format: Suite['format'] =
    legacyName !== undefined || (first !== undefined && 'expectation_type' in first && !('type' in first)) ? '0.18' : '1.x';
  const typeKey = format === '0.18' ? 'expectation_type' : 'type';
  const name = format === '0.18' ? legacyName : json.name;
  if (name !== undefined && typeof name !== 'string') throw bad(`the suite name must be a string, found ${describe(name)}`);
  if (list.length === 0) throw bad('the suite has no expectations, so it would check nothing');

  const expectations = list.map((e, i): ExpectationConfig => {
    const at = `expectation ${i + 1}`;
    if (!isObject(e)) throw bad(`${at} must be an object {"${typeKey}", "kwargs"}, found ${describe(e)}`);
    const type = e[typeKey];
    if (typeof type !== 'string' || type === '') {
      const other = format === '0.18' ? 'type' : 'expectation_type';
      const hint = other in e ? ` (it has "${other}": a ${format === '0.18' ? '1.x' : '0.18'} key in a ${format} suite)` : '';
      throw bad(`${at} has no "${typeKey}"${hint}`);
    }
    const kwargs = e.kwargs ?? {};
    if (!isObject(kwargs)) throw bad(`${at} (${type}): "kwargs" must be an object, found ${describe(kwargs)}`);
    const meta = e.meta ?? {};
    if (!isObject(meta)) throw bad(`${at} (${type}): "meta" must be an object, found ${describe(meta)}`);
    return { type, kwargs: Object.fromEntries(Object.entries(kwargs).filter(([k]) => !PRESENTATION_KWARGS.has(k))), meta };
  });
  return { name: name ?? label, format, expectations };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}
