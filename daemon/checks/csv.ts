/**
 * CSV files as `pandas.read_csv` reads them with its defaults: comma-separated, `"` quotes with `""`
 * for a quote inside, \n / \r\n / \r line ends, the first line is the header, blank lines skipped,
 * pandas' missing-value markers (empty, NA, null, nan, ...) are missing, and each column is typed
 * int64 / float64 / bool / str from all its values. Great Expectations reads the same file through
 * pandas, so both engines see the same table.
 */
import { MlpError } from '../../shared/errors.js';
import type { Cell, Column, Dataset, Dtype } from './dataset.js';

/** pandas' default `na_values` (pandas.io.parsers: STR_NA_VALUES). */
const NA_VALUES = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
const TRUE_VALUES = new Set(['True', 'TRUE', 'true']);
const FALSE_VALUES = new Set(['False', 'FALSE', 'false']);
// pandas' number parser skips spaces and tabs around a number.
const INT = /^[ \t]*[+-]?\d+[ \t]*$/;
const FLOAT = /^[ \t]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t]*$/;
const INFINITY = /^[ \t]*([+-]?)inf(?:inity)?[ \t]*$/i;

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Line ends in a run of text: \n, \r\n and a lone \r each count once. */
function lineBreaks(run: string): number {
  let count = 0;
  for (let k = 0; k < run.length; k++) {
    const c = run.charCodeAt(k);
    if (c === LF || (c === CR && run.charCodeAt(k + 1) !== LF)) count++;
  }
  return count;
}

export interface CsvTable {
  header: string[];
  rows: string[][];
}

/** Splits CSV text into a header and rows of raw fields; a file that is not CSV throws, naming the line. */
export function parseCsv(text: string, file = 'CSV'): CsvTable {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // the current field started with a quote
  let inQuotes = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const endField = () => {
    fields.push(field);
    field = '';
    quoted = false;
  };
  const endRow = () => {
    const blank = fields.length === 0 && !quoted && /^[ \t]*$/.test(field);
    endField();
    if (!blank) records.push({ fields, line: rowLine });
    fields = [];
  };

  const n = text.length;
  while (i < n) {
    if (inQuotes) {
      const q = text.indexOf('"', i);
      const end = q === -1 ? n : q;
      const run = text.slice(i, end);
      line += lineBreaks(run);
      field += run;
      if (q === -1) break;
      if (text.charCodeAt(q + 1) === QUOTE) {
        field += '"';
        i = q + 2;
      } else {
        inQuotes = false;
        i = q + 1;
      }
      continue;
    }
    // Copy the run up to the next comma, quote or line end at once.
    let j = i;
    for (let c = text.charCodeAt(j); j < n && c !== COMMA && c !== QUOTE && c !== LF && c !== CR; c = text.charCodeAt(++j));
    if (j > i) field += text.slice(i, j);
    if (j >= n) break;
    const c = text.charCodeAt(j);
    i = j + 1;
    if (c === COMMA) endField();
    else if (c === LF || c === CR) {
      if (c === CR && text.charCodeAt(i) === LF) i++;
      endRow();
      line++;
      rowLine = line;
    } else if (field === '' && !quoted) {
      quoted = inQuotes = true;
      quoteLine = line;
    } else field += '"'; // a quote inside an unquoted field, or after a closing quote, is kept as is
  }
  if (inQuotes)
    throw new MlpError('check_failed', `${file}: the quoted field starting on line ${quoteLine} never ends (a missing closing ")`);
  if (field !== '' || quoted || fields.length > 0) endRow();

  const first = records.shift();
  if (!first) throw new MlpError('check_failed', `${file} is empty: it needs at least a header line`);
  const header = headerNames(first.fields);
  const rows = records.map(({ fields, line }) => {
    if (fields.length > header.length) {
      throw new MlpError('check_failed', `${file}: line ${line} has ${fields.length} fields, the header has ${header.length}`);
    }
    return fields;
  });
  return { header, rows };
}

/** pandas names an empty header `Unnamed: i` and renames a repeated one `a.1`, `a.2`, ... */
function headerNames(raw: string[]): string[] {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  return raw.map((name, i) => {
    const base = name === '' ? `Unnamed: ${i}` : name;
    let unique = base;
    let k = counts.get(base) ?? 0;
    while (seen.has(unique)) unique = `${base}.${++k}`;
    counts.set(base, k);
    seen.add(unique);
    return unique;
  });
}

/** Reads CSV text into a typed table (see the module comment). */
export function csvDataset(text: string, file?: string): Dataset {
  const { header, rows } = parseCsv(text, file);
  const columns = header.map((name, c) =>
    typeColumn(
      name,
      rows.map((r) => r[c] ?? ''),
    ),
  );
  return { columns, rowCount: rows.length };
}

function typeColumn(name: string, raw: string[]): Column {
  const cells = raw.map((v) => (NA_VALUES.has(v) ? null : v));
  const present = cells.filter((v): v is string => v !== null);
  const missing = present.length < cells.length;
  if (raw.length === 0) return { name, dtype: 'object', values: [] };
  if (present.length === 0) return { name, dtype: 'float64', values: cells };

  if (present.every((v) => INT.test(v))) {
    const dtype: Dtype = missing ? 'float64' : intDtype(present);
    return { name, dtype, values: cells.map((v) => (v === null ? null : Number(v.trim()))) };
  }
  if (present.every((v) => FLOAT.test(v) || INFINITY.test(v) || INT.test(v))) {
    return { name, dtype: 'float64', values: cells.map(toFloat) };
  }
  if (present.every((v) => TRUE_VALUES.has(v) || FALSE_VALUES.has(v))) {
    // With missing values pandas keeps Python bools in an object column.
    return { name, dtype: missing ? 'object' : 'bool', values: cells.map((v): Cell => (v === null ? null : TRUE_VALUES.has(v))) };
  }
  return { name, dtype: 'str', values: cells };
}

/** int64 unless a value needs uint64 (all non-negative) or does not fit 64 bits at all (object). */
function intDtype(values: string[]): Dtype {
  let negative = false;
  let aboveInt64 = false;
  for (const v of values) {
    const digits = v.trim().replace(/^\+/, '');
    if (digits.startsWith('-')) negative = true;
    if (digits.replace(/^-?0*/, '').length < 19) continue; // every 18-digit number fits int64
    const n = BigInt(digits);
    if (n < -(2n ** 63n) || n >= 2n ** 64n) return 'object';
    if (n >= 2n ** 63n) aboveInt64 = true;
  }
  if (!aboveInt64) return 'int64';
  return negative ? 'object' : 'uint64';
}

function toFloat(v: string | null): number | null {
  if (v === null) return null;
  const inf = INFINITY.exec(v);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return Number(v.trim());
}
