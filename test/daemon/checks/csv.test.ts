/**
 * The CSV reader: the file format (quotes, escaped quotes, line ends, headers) and column types as
 * pandas.read_csv infers them (each expectation below was observed with pandas 3.1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvDataset, parseCsv } from '../../../daemon/checks/csv.js';
import type { Dataset } from '../../../daemon/checks/dataset.js';

const col = (data: Dataset, name: string) => {
  const c = data.columns.find((x) => x.name === name);
  assert.ok(c, `no column ${name}`);
  return { dtype: c.dtype, values: [...c.values] };
};

describe('CSV format', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const { header, rows } = parseCsv('name,note\n"Smith, Jr.","said ""hi"""\n"two\nlines",x\n');
    assert.deepEqual(header, ['name', 'note']);
    assert.deepEqual(rows, [
      ['Smith, Jr.', 'said "hi"'],
      ['two\nlines', 'x'],
    ]);
  });

  it('accepts \\n, \\r\\n and \\r line ends, with or without a final one, and a byte order mark', () => {
    for (const text of ['\ufeffa,b\n1,2\n3,4\n', 'a,b\r\n1,2\r\n3,4\r\n', 'a,b\r1,2\r3,4', 'a,b\n1,2\n3,4']) {
      assert.deepEqual(
        parseCsv(text),
        {
          header: ['a', 'b'],
          rows: [
            ['1', '2'],
            ['3', '4'],
          ],
        },
        JSON.stringify(text),
      );
    }
    assert.deepEqual(parseCsv('a\n"x\r\ny"\n').rows, [['x\r\ny']]);
  });

  it('skips blank lines, keeps a quoted empty value, pads short rows', () => {
    const data = csvDataset('a,b\n1,2\n\n   \n3\n"",5\n');
    assert.equal(data.rowCount, 3);
    assert.deepEqual(col(data, 'a'), { dtype: 'float64', values: [1, 3, null] });
    assert.deepEqual(col(data, 'b'), { dtype: 'float64', values: [2, null, 5] });
  });

  it('keeps a quote inside an unquoted field and text after a closing quote', () => {
    assert.deepEqual(parseCsv('a,b\n5" pipe,"ab"c\n').rows, [['5" pipe', 'abc']]);
  });

  it('names empty and repeated headers as pandas does', () => {
    assert.deepEqual(parseCsv('a,,a,a,b\n1,2,3,4,5\n').header, ['a', 'Unnamed: 1', 'a.1', 'a.2', 'b']);
  });

  it('says what is wrong with a file that is not CSV', () => {
    assert.throws(() => parseCsv('a,b\n"open,2\n3,4\n', 'data/x.csv'), /data\/x\.csv: the quoted field starting on line 2 never ends/);
    assert.throws(() => parseCsv('a,b\n1,2\n1,2,3\n', 'data/x.csv'), /data\/x\.csv: line 3 has 3 fields, the header has 2/);
    assert.throws(() => parseCsv('\n\n', 'data/x.csv'), /data\/x\.csv is empty/);
  });
});

describe('CSV column types (as pandas infers them)', () => {
  it('integers: int64; with a missing value: float64', () => {
    assert.deepEqual(col(csvDataset('a\n1\n-2\n+5\n007\n 8 \n'), 'a'), { dtype: 'int64', values: [1, -2, 5, 7, 8] });
    assert.deepEqual(col(csvDataset('a\n1\n\n2\nNA\n'), 'a'), { dtype: 'float64', values: [1, 2, null] });
  });

  it('64-bit limits: uint64 above int64, object beyond', () => {
    assert.equal(col(csvDataset('a\n9223372036854775807\n-9223372036854775808\n'), 'a').dtype, 'int64');
    assert.equal(col(csvDataset('a\n9223372036854775808\n1\n'), 'a').dtype, 'uint64');
    assert.equal(col(csvDataset('a\n18446744073709551616\n1\n'), 'a').dtype, 'object');
    assert.equal(col(csvDataset('a\n-9223372036854775809\n1\n'), 'a').dtype, 'object');
  });

  it('floats: decimals, exponents, inf, mixed with integers', () => {
    assert.deepEqual(col(csvDataset('a\n1.0\n2\n.5\n5.\n1e3\n-Infinity\ninf\n 1.5 \n'), 'a'), {
      dtype: 'float64',
      values: [1, 2, 0.5, 5, 1000, -Infinity, Infinity, 1.5],
    });
  });

  it("pandas' missing-value markers are missing, other spellings are text", () => {
    const markers = [
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
    ];
    const data = csvDataset(`a,b\n${markers.map((m, i) => `${m},${i}`).join('\n')}\n`);
    assert.deepEqual(col(data, 'a'), { dtype: 'float64', values: markers.map(() => null) });
    assert.deepEqual(col(csvDataset('a\nnone\nNull\nNAN\n'), 'a'), { dtype: 'str', values: ['none', 'Null', 'NAN'] });
  });

  it('booleans: True/TRUE/true and False/FALSE/false; with a missing value an object column', () => {
    assert.deepEqual(col(csvDataset('a\nTrue\nfalse\nTRUE\n'), 'a'), { dtype: 'bool', values: [true, false, true] });
    assert.deepEqual(col(csvDataset('a,b\nTrue,1\n,2\n'), 'a'), { dtype: 'object', values: [true, null] });
    assert.deepEqual(col(csvDataset('a\n1\nTrue\n'), 'a'), { dtype: 'str', values: ['1', 'True'] });
  });

  it('text keeps its exact value; quoting does not change a type', () => {
    assert.deepEqual(col(csvDataset('a\n yes\n1_000\n0x10\n1e\n'), 'a'), { dtype: 'str', values: [' yes', '1_000', '0x10', '1e'] });
    assert.deepEqual(col(csvDataset('a,b\n"1",2\n" 3",4\n'), 'a'), { dtype: 'int64', values: [1, 3] });
    assert.deepEqual(col(csvDataset('a,b\n  ,1\n'), 'a'), { dtype: 'str', values: ['  '] });
  });

  it('an all-missing column is float64; a header without rows gives object columns', () => {
    assert.equal(col(csvDataset('a,b\n1,\n2,\n'), 'b').dtype, 'float64');
    const empty = csvDataset('a,b\n');
    assert.equal(empty.rowCount, 0);
    assert.deepEqual(
      empty.columns.map((c) => c.dtype),
      ['object', 'object'],
    );
  });
});
