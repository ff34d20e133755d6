/**
 * The table a suite is validated against, typed the way pandas types a DataFrame, so that the native
 * engine and Great Expectations (which runs on pandas) see the same columns, dtypes and values.
 */

/** pandas dtypes (pandas 3 names: a text column is `str`); anything mixed or nested is `object`. */
export type Dtype = 'int64' | 'uint64' | 'float64' | 'bool' | 'str' | 'object';

/** One value; null is a missing value (pandas NaN/None). Nested JSON stays as parsed. */
export type Cell = null | boolean | number | string | readonly unknown[] | { readonly [key: string]: unknown };

/** The Python type a value has inside pandas. */
export type PyKind = 'int' | 'float' | 'bool' | 'str' | 'list' | 'dict';

export interface Column {
  readonly name: string;
  readonly dtype: Dtype;
  readonly values: readonly Cell[];
  /** For `object` columns: which numbers were floats in the source (JSON `2.0`, SQL REAL). */
  readonly floats?: readonly boolean[];
  /** For `object` columns: which missing values are Python None (a written null) rather than NaN (an absent key). */
  readonly nones?: readonly boolean[];
}

export interface Dataset {
  readonly columns: readonly Column[];
  readonly rowCount: number;
}

/** The Python type of value `i` of a column, null for a missing value. */
export function pyKind(column: Column, i: number): PyKind | null {
  const v = column.values[i];
  if (v === null || v === undefined) return null;
  switch (column.dtype) {
    case 'int64':
    case 'uint64':
      return 'int';
    case 'float64':
      return 'float';
    case 'bool':
      return 'bool';
    case 'str':
      return 'str';
    case 'object':
      if (typeof v === 'boolean') return 'bool';
      if (typeof v === 'string') return 'str';
      if (typeof v === 'number') return column.floats?.[i] ? 'float' : 'int';
      return Array.isArray(v) ? 'list' : 'dict';
  }
}

const INT64_MIN = -(2 ** 63);
const INT64_LIMIT = 2 ** 63; // exclusive
const UINT64_LIMIT = 2 ** 64; // exclusive

/**
 * Collects one column of row-shaped data (JSON Lines, SQL rows) and decides its dtype as
 * `pandas.DataFrame(records)` would: ints only → int64 (uint64 above int64, object beyond);
 * ints/floats with or without missing values → float64; bools without missing values → bool;
 * text (with or without missing values) → str; nothing but missing values → float64 if a value was
 * absent (NaN), object if all were written nulls (None); a mix of types → object.
 */
export class ColumnBuilder {
  private readonly values: Cell[];
  private readonly floats: boolean[];
  private readonly nones: boolean[];
  private nulls = 0;
  private absent = 0;
  private ints = 0;
  private floatCount = 0;
  private bools = 0;
  private strs = 0;
  private others = 0;
  private negative = false;
  private aboveInt64 = false;
  private beyondUint64 = false;

  /** `rowsBefore`: rows already read before this column first appeared (missing in them). */
  constructor(
    readonly name: string,
    rowsBefore = 0,
  ) {
    this.values = new Array<Cell>(rowsBefore).fill(null);
    this.floats = new Array<boolean>(rowsBefore).fill(false);
    this.nones = new Array<boolean>(rowsBefore).fill(false);
    this.nulls = rowsBefore;
    this.absent = rowsBefore;
  }

  get length(): number {
    return this.values.length;
  }

  /** `isFloat`: the source wrote this number as a float (`2.0`, a REAL column); `absent`: no value was written. */
  push(value: Cell, isFloat = false, absent = false): void {
    this.values.push(value);
    this.floats.push(typeof value === 'number' && isFloat);
    this.nones.push(value === null && !absent);
    if (absent) this.absent++;
    if (value === null) this.nulls++;
    else if (typeof value === 'number') {
      if (isFloat || !Number.isFinite(value)) this.floatCount++;
      else {
        this.ints++;
        if (value < 0) this.negative = true;
        if (value >= INT64_LIMIT) this.aboveInt64 = true;
        if (value >= UINT64_LIMIT || value < INT64_MIN) this.beyondUint64 = true;
      }
    } else if (typeof value === 'boolean') this.bools++;
    else if (typeof value === 'string') this.strs++;
    else this.others++;
  }

  finish(): Column {
    const n = this.values.length;
    const present = n - this.nulls;
    const numbers = this.ints + this.floatCount;
    let dtype: Dtype = 'object';
    if (present === 0)
      dtype = this.absent > 0 ? 'float64' : 'object'; // NaN for an absent value, None for a written null
    else if (numbers === present) {
      const intsOnly = this.floatCount === 0 && this.nulls === 0;
      if (!intsOnly) dtype = 'float64';
      else if (this.beyondUint64 || (this.aboveInt64 && this.negative)) dtype = 'object';
      else dtype = this.aboveInt64 ? 'uint64' : 'int64';
    } else if (this.bools === present && this.nulls === 0) dtype = 'bool';
    else if (this.strs === present) dtype = 'str';
    const column: Column = { name: this.name, dtype, values: this.values };
    if (dtype !== 'object') return column;
    return { ...column, ...(this.floatCount > 0 ? { floats: this.floats } : {}), ...(this.nulls > 0 ? { nones: this.nones } : {}) };
  }
}

/** Rows of name → value, in the order the names first appear (as pandas orders record columns). */
export class RecordsBuilder {
  private readonly columns = new Map<string, ColumnBuilder>();
  private rows = 0;

  /** One row; names it lacks are missing values. `isFloat(name)`: that number was written as a float. */
  addRow(row: Iterable<readonly [string, Cell]>, isFloat: (name: string) => boolean = () => false): void {
    for (const [name, value] of row) {
      let column = this.columns.get(name);
      if (!column) this.columns.set(name, (column = new ColumnBuilder(name, this.rows)));
      column.push(value, isFloat(name));
    }
    this.rows++;
    for (const column of this.columns.values()) if (column.length < this.rows) column.push(null, false, true);
  }

  finish(): Dataset {
    return { columns: [...this.columns.values()].map((c) => c.finish()), rowCount: this.rows };
  }
}

/** Looks a column up by name, or says which columns there are. */
export function findColumn(data: Dataset, name: string): Column | string {
  const column = data.columns.find((c) => c.name === name);
  return column ?? `column '${name}' does not exist (columns: ${data.columns.map((c) => c.name).join(', ') || 'none'})`;
}
