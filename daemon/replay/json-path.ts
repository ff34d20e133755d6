/**
 * The small JSONPath subset replay checks use to pick values out of a model's answer:
 *
 *   $              the whole answer
 *   .name  ['name']  ["name"]   a member of an object
 *   [0]  [-1]      an element of an array (negative: from the end)
 *   [*]  .*        every element of an array, or every member value of an object
 *
 * e.g. `$.demand`, `$.predictions[0].score`, `$[*]`, `$.scores[*]`, `$['p-value']`. Filters, slices,
 * unions and recursive descent (`..`) are not supported: the path is refused with a message saying so.
 */

export type PathStep = { kind: 'member'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

export interface JsonPath {
  readonly text: string;
  readonly steps: readonly PathStep[];
}

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/** Parses `text`; throws JsonPathError naming the unsupported or malformed part. */
export function parseJsonPath(text: string): JsonPath {
  if (!text.startsWith('$')) throw new JsonPathError(`JSONPath '${text}' must start with '$'`);
  const steps: PathStep[] = [];
  let i = 1;
  const fail = (what: string): never => {
    throw new JsonPathError(`JSONPath '${text}': ${what} at character ${i + 1} (supported: $.a.b, $.a[0], $.a[*], $['a b'])`);
  };
  while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('..')) fail("recursive descent '..' is not supported");
    if (rest[0] === '.') {
      if (rest[1] === '*') {
        steps.push({ kind: 'wildcard' });
        i += 2;
        continue;
      }
      const m = IDENT.exec(rest.slice(1));
      if (!m) fail("expected a member name after '.'");
      steps.push({ kind: 'member', name: m![0] });
      i += 1 + m![0].length;
      continue;
    }
    if (rest[0] === '[') {
      const close = bracketEnd(rest);
      if (close < 0) fail("unclosed '['");
      const inner = rest.slice(1, close).trim();
      if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/s.test(inner)) steps.push({ kind: 'member', name: unquote(inner) });
      else fail(`'[${inner}]' is not supported (filters, slices and unions are not)`);
      i += close + 1;
      continue;
    }
    fail(`unexpected '${rest[0]}'`);
  }
  return { text, steps };
}

/** Where the `]` closing a bracket step at the start of `s` is, skipping quoted names. */
function bracketEnd(s: string): number {
  let quote: string | null = null;
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return i;
  }
  return -1;
}

function unquote(q: string): string {
  return q.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** Every value the path selects in `doc`, in document order; none when a step does not match. */
export function selectJsonPath(path: JsonPath, doc: unknown): unknown[] {
  let current: unknown[] = [doc];
  for (const step of path.steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'member') {
        if (isObject(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (Array.isArray(v)) next.push(...v);
      else if (isObject(v)) next.push(...Object.values(v));
    }
    current = next;
  }
  return current;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
