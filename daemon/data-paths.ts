/**
 * Paths built from names that come from data: groups are the distinct values of a warehouse column (or
 * `--group`), and pipelines, steps, run ids and versions end up in paths beside them. A name becomes
 * exactly ONE path segment, and every path is checked to stay inside its root, so `../../x` or
 * `../other-pipeline/default` cannot leave the data dir or reach another pipeline's folders.
 *
 * Plain names (`london`, `new-york`, `r-01j…`, `v3`) stay as they are. Any other name is folded to
 * something readable and suffixed with `~` and a hash of the exact name: `São Paulo` ->
 * `sao-paulo~f00fd81d…`. `~` never occurs in a plain name and the hash is of the exact text, so two
 * different names never share a folder, even on a case- or normalization-insensitive file system
 * (macOS), where `London` and `london` would otherwise be one folder.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MlpError } from '../shared/errors.js';

/** Lowercase ASCII letters, digits, `.`, `_` and `-`, not starting with a dot or a separator. */
const PLAIN = /^[a-z0-9][a-z0-9._-]*$/;
const MAX_PLAIN = 64;
/** The readable part of an encoded segment; with the hash, far below any file system's 255 bytes. */
const MAX_READABLE = 40;
/** 64 bits: names of one pipeline never collide in practice. */
const HASH_CHARS = 16;
const SEPARATOR = '~';

/** The one path segment that stands for `name`. */
export function pathSegment(name: string): string {
  if (PLAIN.test(name) && name.length <= MAX_PLAIN) return name;
  const readable = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents: é -> e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_READABLE)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
  return `${readable || '_'}${SEPARATOR}${hash}`;
}

/**
 * `root` joined with `segments` (each already one segment: a constant or a `pathSegment`), verified to
 * stay inside `root`. Throws when it would not: a name from data must never choose where files go.
 */
export function inside(root: string, ...segments: string[]): string {
  const base = resolve(root);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s)) {
      throw new MlpError(
        'internal',
        `refusing the path segment ${JSON.stringify(s)} under ${base}: it is not one plain folder or file name`,
      );
    }
  }
  const path = join(base, ...segments);
  const rel = relative(base, path);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new MlpError('internal', `refusing ${path}: it is outside ${base}`);
  }
  return path;
}
