/**
 * JSON Lines files as pandas builds a DataFrame from their records: one object per line, blank lines
 * skipped, columns in the order their names first appear, a name a line lacks is a missing value.
 * Python keeps `2.0` a float where JavaScript sees 2, so the float literals of each line's top-level
 * values are found in its text: a column written `1.0, 2.0` is float64, as it is for pandas.
 */
import { MlpError } from '../../shared/errors.js';
import { RecordsBuilder, type Cell, type Dataset } from './dataset.js';

export function jsonLinesDataset(text: string, file = 'JSON Lines'): Dataset {
  const records = new RecordsBuilder();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new MlpError('check_failed', `${file}: line ${i + 1} is not valid JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new MlpError(
        'check_failed',
        `${file}: line ${i + 1} is not a JSON object (each line must be one record: {"column": value, ...})`,
      );
    }
    const floats = floatLiterals(line);
    records.addRow(Object.entries(value as Record<string, Cell>), (name) => floats.get(name) === true);
  });
  return records.finish();
}

/** For each top-level key of one JSON object's text whose value is a number: was it written as a float? */
export function floatLiterals(json: string): Map<string, boolean> {
  const floats = new Map<string, boolean>();
  let depth = 0;
  let expectKey = false;
  let key = '';
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '"') {
      const end = stringEnd(json, i);
      if (depth === 1 && expectKey) key = JSON.parse(json.slice(i, end + 1)) as string;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (depth === 1) {
      if (c === ',') expectKey = true;
      else if (c === ':') expectKey = false;
      else if (c === '-' || (c >= '0' && c <= '9')) {
        let j = i + 1;
        while (j < json.length && /[0-9eE.+-]/.test(json[j]!)) j++;
        floats.set(key, /[.eE]/.test(json.slice(i, j)));
        i = j - 1;
      }
    }
  }
  return floats;
}

function stringEnd(json: string, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') return i;
  }
  return json.length;
}
