/**
 * Which pipeline versions are in force after the repo folder changed: a pure function.
 *
 * The rule (README.md, "The repo"): a valid file takes effect; an invalid edit is reported and the previous
 * valid version of that file stays in force; a file that is gone takes its pipeline with it.
 * Files are matched by path, so renaming a pipeline inside its file retires the old name.
 */
import type { ConfigProblem } from '../../shared/config/problems.js';
import type { PipelineConfig } from '../../shared/config/schema.js';

export interface InForcePipeline {
  name: string;
  dir: string;
  file: string;
  config: PipelineConfig;
  hash: string;
  loadedAt: number;
  /** Problems of the file on disk when its latest edit is invalid (the config above is the last valid one). */
  problems: ConfigProblem[];
}

export interface RepoScan {
  pipelines: { name: string; dir: string; file: string; config: PipelineConfig; hash: string }[];
  problems: ConfigProblem[];
}

export interface Reconciled {
  inForce: Map<string, InForcePipeline>;
  /** Added, changed, newly broken or newly mended. */
  updated: string[];
  removed: string[];
  /** Problems no in-force pipeline can carry: files that never loaded, mlp.yaml. */
  repoProblems: ConfigProblem[];
}

export function reconcile(previous: ReadonlyMap<string, InForcePipeline>, scan: RepoScan, now: number): Reconciled {
  const inForce = new Map<string, InForcePipeline>();
  const updated: string[] = [];

  for (const p of scan.pipelines) {
    const before = previous.get(p.name);
    const same = before && before.hash === p.hash && before.file === p.file && before.problems.length === 0;
    inForce.set(p.name, same ? before : { ...p, loadedAt: now, problems: [] });
    if (!same) updated.push(p.name);
  }

  const problemsByFile = new Map<string, ConfigProblem[]>();
  for (const problem of scan.problems) {
    const list = problemsByFile.get(problem.file) ?? [];
    list.push(problem);
    problemsByFile.set(problem.file, list);
  }

  const repoProblems: ConfigProblem[] = [];
  const validFiles = new Set(scan.pipelines.map((p) => p.file));
  for (const [file, problems] of problemsByFile) {
    // A file can be valid and still carry a problem reported against it (e.g. a duplicate name
    // elsewhere points at it); only invalid files fall back to their previous version.
    const keeper = validFiles.has(file) ? undefined : [...previous.values()].find((p) => p.file === file);
    if (keeper && !inForce.has(keeper.name)) {
      inForce.set(keeper.name, { ...keeper, problems });
      if (!sameProblems(keeper.problems, problems)) updated.push(keeper.name);
    } else {
      repoProblems.push(...problems);
    }
  }

  const removed = [...previous.keys()].filter((name) => !inForce.has(name));
  return { inForce, updated, removed, repoProblems };
}

function sameProblems(a: ConfigProblem[], b: ConfigProblem[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => {
      const q = b[i]!;
      return p.file === q.file && p.line === q.line && p.col === q.col && p.message === q.message;
    })
  );
}
