/**
 * The bits of Python and pandas semantics the native engine needs to agree with Great Expectations:
 * `str(value)` as pandas' `astype(str)` writes it, `==` between values, ordering, and which `type_`
 * names `expect_column_values_to_be_of_type` accepts for a dtype (numpy/pandas names, or Python's).
 */
import { type Cell, type Column, type Dtype, type PyKind } from './dataset.js';

/** Python's `repr(float)`: shortest round-trip digits, `1.0`, `1e+16`, `1e-05`, `inf`. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac || '0'}`;
}

/** `str(v)` for a value of Python type `kind` (what pandas' `astype(str)` gives). */
export function pyStr(v: Cell, kind: PyKind): string {
  switch (kind) {
    case 'float':
      return pyFloat(v as number);
    case 'int':
      return typeof v === 'number' && Math.abs(v) >= 1e21 ? BigInt(v).toString() : String(v);
    case 'bool':
      return v ? 'True' : 'False';
    case 'str':
      return v as string;
    default:
      return pyRepr(v);
  }
}

function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloat(v);
  if (typeof v === 'string') return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v as object)
    .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`;
}

/**
 * A key equal for values Python finds equal (`1 == 1.0 == True`), for sets and duplicate counts.
 * Text and numbers never collide; nested values compare by their JSON.
 */
export function pyKey(v: Cell): string {
  if (typeof v === 'number') return `n${v === 0 ? 0 : v}`;
  if (typeof v === 'boolean') return v ? 'n1' : 'n0';
  if (typeof v === 'string') return `s${v}`;
  return `j${JSON.stringify(v)}`;
}

/** Python's ordering of two values (tuples element-wise), or undefined where Python raises TypeError. */
export function pyCompare(a: Cell, b: Cell): number | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = pyCompare(a[i] as Cell, b[i] as Cell);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  }
  const num = (x: Cell) => (typeof x === 'boolean' ? Number(x) : x);
  const x = num(a);
  const y = num(b);
  const comparable = (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
  if (!comparable) return undefined;
  return x! < y! ? -1 : x! > y! ? 1 : 0;
}

// numpy dtype names whose scalar type is the dtype's (np.dtype(name).type), as
// ExpectColumnValuesToBeOfType compares them; measured against numpy 2 / pandas 3 on Linux.
const NUMPY_ALIASES: Record<Exclude<Dtype, 'str'>, string[]> = {
  int64: ['int', 'int64', 'long', 'int_', 'intp', 'i8', 'l', '<i8', '=i8'],
  uint64: ['uint64', 'uint', 'ulong', 'uintp', 'u8', 'L', '<u8', '=u8'],
  float64: ['float', 'float64', 'double', 'f8', 'd', '<f8', '=f8'],
  bool: ['bool', 'bool_', 'b1', '?'],
  object: ['object', 'object_', 'O'],
};
// Other names numpy or pandas know (a column can never be of them here, but they are not typos).
const OTHER_KNOWN = new Set([
  'int8',
  'int16',
  'int32',
  'uint8',
  'uint16',
  'uint32',
  'float16',
  'float32',
  'longlong',
  'ulonglong',
  'longdouble',
  'complex64',
  'complex128',
  'complex',
  'bytes',
  'bytes_',
  'str_',
  'S',
  'U',
  'datetime64',
  'timedelta64',
  'M',
  'm',
  'Timestamp',
  'Timedelta',
  'Period',
  'Interval',
  'Categorical',
  'CategoricalDtype',
  'DatetimeTZDtype',
  'StringDtype',
  'Int64Dtype',
  'Float64Dtype',
  'BooleanDtype',
  'i4',
  'i2',
  'i1',
  'u4',
  'u2',
  'u1',
  'f4',
  'f2',
  'c8',
  'c16',
  'half',
  'single',
  'byte',
  'short',
  'intc',
  'ubyte',
  'ushort',
  'uintc',
  'csingle',
  'cdouble',
  'clongdouble',
  'q',
  'Q',
  'i',
  'I',
  'h',
  'H',
  'b',
  'B',
  'f',
  'e',
  'g',
  'D',
  'F',
  'G',
  'V',
  'void',
]);

/** Python built-in types by GX's `native_type_type_map` (case-insensitive). */
function pythonTypes(type: string): PyKind[] | null {
  switch (type.toLowerCase()) {
    case 'int':
    case 'long':
      return ['int', 'bool']; // bool is a subclass of int
    case 'float':
      return ['float'];
    case 'bool':
      return ['bool'];
    case 'str':
    case 'string_types':
      return ['str'];
    case 'list':
      return ['list'];
    case 'dict':
      return ['dict'];
    case 'none':
    case 'bytes':
    case 'complex':
      return [];
    default:
      return null;
  }
}

/** Whether GX knows `type_` at all (it raises "Unrecognized numpy/python type" when checking values otherwise). */
export function knownType(type: string): boolean {
  return pythonTypes(type) !== null || OTHER_KNOWN.has(type) || Object.values(NUMPY_ALIASES).some((names) => names.includes(type));
}

/** A column whose dtype is `type_` (numpy name, or Python's `str` for a pandas text column). */
export function dtypeMatches(dtype: Dtype, type: string): boolean {
  if (dtype === 'str') return pythonTypes(type)?.includes('str') ?? false;
  return NUMPY_ALIASES[dtype].includes(type);
}

/** For an `object` column, checked value by value: a value of Python type `kind` is an instance of `type_`. */
export function valueMatches(kind: PyKind, type: string): boolean {
  return pythonTypes(type)?.includes(kind) ?? false;
}

/** The name GX reports as a column's observed type (`dtype.type.__name__`). */
export function observedTypeName(column: Column): string {
  return column.dtype === 'object' ? 'object_' : column.dtype;
}
