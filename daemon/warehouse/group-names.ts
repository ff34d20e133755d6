/**
 * Which values can name a group. Groups are warehouse data, so anything may turn up; a name that
 * could only mislead (invisible, multi-line, absurdly long) or that no URL can carry (`.`, `..`) is
 * refused, everything else is a group, however odd: paths encode it (data-paths.ts), URLs
 * percent-encode it.
 */

/** Longer names are refused: a group is a label (a city, a store), shown in tables and sent in headers. */
export const MAX_GROUP_NAME = 255;

/** Why `name` cannot be a group, or null when it can. */
export function groupNameProblem(name: string): string | null {
  if (name === '') return 'a group name cannot be empty';
  if (name.trim() === '') return 'a group name cannot be only whitespace';
  // Clients resolve `.` and `..` in a URL path (encoded or not), so no request could name the group.
  if (name === '.' || name === '..') return `a group name cannot be '${name}' (URLs resolve it, so no request could reach the group)`;
  const control = /\p{Cc}/u.exec(name);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `a group name cannot contain control characters (U+${code} at position ${control.index + 1})`;
  }
  const length = [...name].length;
  if (length > MAX_GROUP_NAME) return `a group name can be at most ${MAX_GROUP_NAME} characters long (this one has ${length})`;
  return null;
}

/** A value as it can be shown on one line: quoted, control characters escaped, shortened. */
export function showValue(name: string): string {
  const quoted = JSON.stringify(name);
  return quoted.length > 80 ? `${quoted.slice(0, 60)}…" (${[...name].length} characters)` : quoted;
}
