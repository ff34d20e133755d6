/**
 * `serve.command` without a shell where it needs none: a command of plain words (no quotes, variables,
 * globs, redirections, pipes, `;`, `&&`, leading `VAR=value`) means the same split on spaces, so the
 * model server is spawned directly instead of under `/bin/sh -c`, one process instead of two for
 * every server. Anything else keeps the shell, which is what gives it its meaning.
 */

/** Characters that mean nothing to the shell: a word of only these is taken literally. */
const PLAIN_WORD = /^[A-Za-z0-9_\-.,/:@+=%]+$/;

/** The argv to spawn directly, or null when the command needs the shell. */
export function directArgv(command: string): string[] | null {
  const words = command.trim().split(/[ \t]+/);
  if (words.length === 0 || words[0] === '') return null;
  if (!words.every((w) => PLAIN_WORD.test(w))) return null;
  // `NAME=value cmd` sets a variable for the command: the shell's job.
  if (words[0]!.includes('=')) return null;
  return words;
}
