/**
 * Python `re` patterns (what GX's `expect_column_values_to_match_regex` takes) as JavaScript RegExps
 * with the same meaning for text: `\w`, `\d`, `\b` are Unicode-aware as in Python, `.` stops only at
 * \n, `$` also matches before a final newline, `\A` / `\Z`, `(?P<name>...)`, `(?P=name)`, leading
 * `(?ims)` flags. A pattern this cannot carry over (verbose mode, scoped flags, \N{...}) throws: the
 * expectation then fails and says to run it with `engine: great_expectations`.
 */

const WORD = '\\p{L}\\p{N}_';
const WORD_CLASS = `[${WORD}]`;
const NOT_WORD_CLASS = `[^${WORD}]`;
const BOUNDARY = `(?:(?<=${WORD_CLASS})(?!${WORD_CLASS})|(?<!${WORD_CLASS})(?=${WORD_CLASS}))`;
const NOT_BOUNDARY = `(?:(?<=${WORD_CLASS})(?=${WORD_CLASS})|(?<!${WORD_CLASS})(?!${WORD_CLASS}))`;
// Characters that stay escaped in a `u` RegExp; any other escaped punctuation is just that character.
const SYNTAX = '^$\\.*+?()[]{}|/';

export function pythonRegex(pattern: string): RegExp {
  let flags = 'u';
  let ascii = false;
  let i = 0;
  for (let m; (m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i))); i += m[0].length) {
    for (const f of m[1]!) {
      if (f === 'x') throw new Error('verbose patterns (?x) are not supported by the native engine');
      if (f === 'a') ascii = true;
      else if ('ims'.includes(f) && !flags.includes(f)) flags += f;
    }
  }
  const multiline = flags.includes('m');
  const dotAll = flags.includes('s');
  let out = '';
  let inClass = false;
  let classStart = false; // just after `[` or `[^`: a `]` here is a literal in Python

  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    const rest = pattern.slice(i);
    if (c === '\\') {
      const e = pattern[++i];
      if (e === undefined) throw new Error('the pattern ends with a lone backslash');
      out += escape(e, pattern, i, inClass, ascii, (n) => (i += n));
      classStart = false;
      continue;
    }
    if (inClass) {
      if (c === ']' && !classStart) inClass = false;
      else if (c === ']') {
        out += '\\]';
        classStart = false;
        continue;
      }
      classStart = c === '^' && pattern[i - 1] === '[';
      out += c;
      continue;
    }
    let m: RegExpExecArray | null;
    if (c === '[') {
      inClass = classStart = true;
      out += c;
    } else if (c === ']' || c === '}') out += `\\${c}`;
    else if (c === '{') {
      m = /^\{(\d*)(,?)(\d*)\}/.exec(rest);
      if (m && (m[1] || m[3])) {
        out += `{${m[1] || '0'}${m[2]}${m[3]}}`;
        i += m[0].length - 1;
      } else out += '\\{';
    } else if (c === '.') out += dotAll ? '[\\s\\S]' : '[^\\n]';
    else if (c === '$') out += multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
    else if ((m = /^\(\?P<([A-Za-z_]\w*)>/.exec(rest))) {
      out += `(?<${m[1]}>`;
      i += m[0].length - 1;
    } else if ((m = /^\(\?P=([A-Za-z_]\w*)\)/.exec(rest))) {
      out += `\\k<${m[1]}>`;
      i += m[0].length - 1;
    } else if ((m = /^\(\?#[^)]*\)/.exec(rest))) i += m[0].length - 1;
    else if (/^\(\?[aiLmsux-]+[:)]/.test(rest))
      throw new Error('inline flags are only supported at the start of the pattern by the native engine');
    else out += c;
  }
  return new RegExp(out, flags);
}

function escape(e: string, pattern: string, i: number, inClass: boolean, ascii: boolean, skip: (n: number) => void): string {
  switch (e) {
    case 'A':
      return inClass ? 'A' : '(?<![\\s\\S])';
    case 'Z':
      return inClass ? 'Z' : '(?![\\s\\S])';
    case 'd':
      return ascii ? (inClass ? '0-9' : '[0-9]') : '\\p{Nd}';
    case 'D':
      return ascii ? (inClass ? '\\D' : '[^0-9]') : '\\P{Nd}';
    case 'w':
      return ascii ? '\\w' : inClass ? WORD : WORD_CLASS;
    case 'W':
      return ascii || inClass ? '\\W' : NOT_WORD_CLASS;
    case 'b':
      return inClass ? '\\x08' : ascii ? '\\b' : BOUNDARY;
    case 'B':
      return ascii ? '\\B' : NOT_BOUNDARY;
    case 'a':
      return '\\x07';
    case 'U': {
      const hex = /^[0-9a-fA-F]{8}/.exec(pattern.slice(i + 1));
      if (!hex) throw new Error('\\U needs 8 hex digits');
      skip(8);
      return `\\u{${hex[0].replace(/^0+(?=.)/, '')}}`;
    }
    case 'N':
      throw new Error('\\N{...} character names are not supported by the native engine');
  }
  if (/[0-9sStnrfvxu]/.test(e)) return `\\${e}`;
  if (/[A-Za-z]/.test(e)) throw new Error(`bad escape \\${e}`);
  if (SYNTAX.includes(e) || (inClass && e === '-')) return `\\${e}`;
  return e;
}
