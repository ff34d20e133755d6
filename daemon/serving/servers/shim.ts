/**
 * A `serve.command` whose program, found on PATH, is a shell script: most often a version manager's
 * shim (pyenv, asdf, rbenv, nodenv), which runs a shell and the manager's own lookup before it execs the
 * real interpreter. Every model server start pays that again; on a 2-core machine pyenv's shim made
 * the smallest Python server cost 84-118 ms of CPU per start against 14 ms for the interpreter itself,
 * the difference between a 1,000-server fleet back in 12 s or in 60 (docs/fleet.md). The daemon says so
 * once per program; what the script does is left to it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ShellScriptProgram {
  /** Where PATH found it. */
  file: string;
  /** Its first line, `#!/usr/bin/env bash`. */
  shebang: string;
}

const SHELL_SHEBANG = /^#!\s*(?:\/\S*\/)?(?:env\s+(?:-\S+\s+)*)?(?:ba|da|z|k)?sh\b/;

/** What a bare program name (no `/`) resolves to on `path`, when that is a shell script; else null. */
export function shellScriptOnPath(program: string, path: string): ShellScriptProgram | null {
  if (program.includes('/')) return null; // named by its path: the user chose that file
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, program);
    let fd: number;
    try {
      if (!statSync(file).isFile()) continue;
      fd = openSync(file, 'r');
    } catch {
      continue;
    }
    try {
      const head = Buffer.alloc(128);
      const n = readSync(fd, head, 0, head.length, 0);
      const firstLine = head.subarray(0, n).toString('latin1').split('\n')[0]!.trim();
      return SHELL_SHEBANG.test(firstLine) ? { file, shebang: firstLine } : null;
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }
  return null;
}

/** The warning for a pipeline whose `serve.command` starts with such a program. */
export function shimWarning(program: string, found: ShellScriptProgram): string {
  return (
    `serve.command starts '${program}', which on the daemon's PATH is a shell script (${found.file}: ${found.shebang}), ` +
    `not the program itself: every model server start runs a shell first (a version manager's shim costs tens of ` +
    `milliseconds of CPU a start, paid by every server a restart brings back). Name the interpreter itself in ` +
    `serve.command (a virtual environment's bin/python, or the path the shim resolves to, e.g. \`pyenv which ${program}\`) ` +
    `to start servers faster (docs/fleet.md). Said once: the same holds for every pipeline whose serve.command starts '${program}'`
  );
}
