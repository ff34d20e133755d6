/**
 * Whether a request body is one JSON text (RFC 8259), checked without building the value: JSON.parse
 * would allocate every object of a 6 MB body only for the router to throw it away. The body comes as
 * a latin1 string (one char per byte, as the router carries bodies): for JSON's structure that is as
 * strict as decoding UTF-8, since every byte of a multi-byte character is >= 0x80. Agrees with
 * JSON.parse on every input (test/daemon/serving/json-syntax.test.ts compares them).
 */

const OBJECT = 1;
const ARRAY = 2;

let stack = new Uint8Array(64);

export function isJsonText(buf: string): boolean {
  const n = buf.length;
  let depth = 0;
  let i = skipSpace(buf, 0);
  value: for (;;) {
    // A value starts at i.
    if (i >= n) return false;
    const c = buf.charCodeAt(i);
    if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === stack.length) {
        const grown = new Uint8Array(depth * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c === 123 ? OBJECT : ARRAY;
      i = skipSpace(buf, i + 1);
      if (buf.charCodeAt(i) === c + 2 /* } or ] */) {
        depth--;
        i++;
      } else if (c === 123) {
        i = member(buf, i);
        if (i < 0) return false;
        continue value;
      } else continue value;
    } else if (c === 34 /* " */) {
      i = string(buf, i);
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      i = number(buf, i);
    } else if (c === 116 /* t */) {
      i = literal(buf, i, TRUE);
    } else if (c === 102 /* f */) {
      i = literal(buf, i, FALSE);
    } else if (c === 110 /* n */) {
      i = literal(buf, i, NULL);
    } else return false;
    if (i < 0) return false;

    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      i = skipSpace(buf, i);
      if (depth === 0) return i === n;
      const container = stack[depth - 1]!;
      const d = buf.charCodeAt(i);
      if (d === 44 /* , */) {
        i = skipSpace(buf, i + 1);
        if (container === OBJECT) {
          i = member(buf, i);
          if (i < 0) return false;
        }
        continue value;
      }
      if ((container === OBJECT && d === 125) || (container === ARRAY && d === 93)) {
        depth--;
        i++;
        continue;
      }
      return false;
    }
  }
}

/** A member's name and colon; returns where its value starts, or -1. */
function member(buf: string, i: number): number {
  if (buf.charCodeAt(i) !== 34) return -1;
  i = string(buf, i);
  if (i < 0) return -1;
  i = skipSpace(buf, i);
  if (buf.charCodeAt(i) !== 58 /* : */) return -1;
  return skipSpace(buf, i + 1);
}

function skipSpace(buf: string, i: number): number {
  for (;;) {
    const c = buf.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

const ESCAPES = new Uint8Array(128);
for (const c of '"\\/bfnrt') ESCAPES[c.charCodeAt(0)] = 1;

function string(buf: string, i: number): number {
  const n = buf.length;
  for (i++; i < n; i++) {
    const c = buf.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32) return -1;
    if (c === 92 /* \ */) {
      const e = buf.charCodeAt(++i);
      if (e === 117 /* u */) {
        for (let k = 0; k < 4; k++) if (!isHex(buf.charCodeAt(++i))) return -1;
      } else if (!(e < 128) || ESCAPES[e] === 0) return -1;
    }
  }
  return -1;
}

// charCodeAt past the end is NaN, which every comparison below rejects.
const isHex = (c: number) => (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
const isDigit = (c: number) => c >= 48 && c <= 57;

function number(buf: string, i: number): number {
  if (buf.charCodeAt(i) === 45) i++;
  if (buf.charCodeAt(i) === 48) i++;
  else if (isDigit(buf.charCodeAt(i))) while (isDigit(buf.charCodeAt(i))) i++;
  else return -1;
  if (buf.charCodeAt(i) === 46 /* . */) {
    i++;
    if (!isDigit(buf.charCodeAt(i))) return -1;
    while (isDigit(buf.charCodeAt(i))) i++;
  }
  if ((buf.charCodeAt(i) | 0x20) === 101 /* e */) {
    i++;
    if (buf.charCodeAt(i) === 43 || buf.charCodeAt(i) === 45) i++;
    if (!isDigit(buf.charCodeAt(i))) return -1;
    while (isDigit(buf.charCodeAt(i))) i++;
  }
  return i;
}

const TRUE = 'true';
const FALSE = 'false';
const NULL = 'null';

function literal(buf: string, i: number, word: string): number {
  return buf.startsWith(word, i) ? i + word.length : -1;
}
