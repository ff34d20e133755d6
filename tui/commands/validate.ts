/** `mlp validate [PATH ...]`: check configs without a daemon; problems as FILE:LINE:COL: message, exit 1. */
import { relative } from 'node:path';
import { formatProblem } from '../../shared/config/problems.js';
import { validatePaths } from '../../shared/repo/discover.js';
import { plural } from '../components/common/format.js';

export function validate(paths: string[], opts: { json: boolean }): number {
  const cwd = process.cwd();
  const result = validatePaths(paths, cwd);
  const ok = result.problems.length === 0;
  if (opts.json) {
    console.log(
      JSON.stringify({
        valid: ok,
        pipelines: result.pipelines.map((p) => ({ name: p.name, file: relative(cwd, p.file) })),
        problems: result.problems.map((p) => ({ ...p, file: relative(cwd, p.file) || p.file })),
      }),
    );
  } else if (ok) {
    const names = result.pipelines.map((p) => p.name);
    console.log(
      names.length === 0 ? 'no pipeline.yaml found' : `ok: ${names.length} ${plural(names.length, 'pipeline')} valid (${names.join(', ')})`,
    );
  } else {
    for (const problem of result.problems) console.log(formatProblem(problem, cwd));
    const files = new Set(result.problems.map((p) => p.file)).size;
    process.stderr.write(`${result.problems.length} ${plural(result.problems.length, 'problem')} in ${files} ${plural(files, 'file')}\n`);
  }
  return ok ? 0 : 1;
}
