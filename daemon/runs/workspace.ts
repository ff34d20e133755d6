/**
 * Where a run's files live on this machine:
 *
 *   <data dir>/runs/<pipeline>/<group>/<run id>/input          input of the first step
 *   <data dir>/runs/<pipeline>/<group>/<run id>/<step>/output  each step's output = the next step's input
 *   <data dir>/runs/<pipeline>/<group>/<run id>/model          MLP_MODEL_DIR, shared by the run's steps
 *   <data dir>/runs/<pipeline>/<group>/last/<step>             the latest successful output of <step>
 *
 * The `last` links let `mlp run train` on its own read what the latest `mlp run preprocess` wrote.
 * Every name in these paths is one segment that stays inside the data dir (data-paths.ts): a group
 * like `../other-pipeline/default` gets a folder of its own.
 */
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import { inside, pathSegment } from '../data-paths.js';

/** Run workspaces kept per (pipeline, group); older ones are deleted (their models are versioned). */
export const KEEP_RUNS = 5;

export function groupDir(dataDir: string, pipeline: string, group: string) {
  return inside(dataDir, 'runs', pathSegment(pipeline), pathSegment(group));
}

export interface StepDirs {
  model: string;
  input: string;
  output: string;
}

/** Creates (if needed) and returns the folders of one step of a run. */
export function stepDirs(
  dataDir: string,
  pipeline: string,
  group: string,
  runId: string,
  step: string,
  previousStep: string | null,
): StepDirs {
  const base = inside(groupDir(dataDir, pipeline, group), pathSegment(runId));
  const ownPrevious = previousStep ? inside(base, pathSegment(previousStep), 'output') : null;
  const input =
    ownPrevious && exists(ownPrevious)
      ? ownPrevious
      : previousStep
        ? (lastOutput(dataDir, pipeline, group, previousStep) ?? join(base, 'input'))
        : join(base, 'input');
  const dirs = { model: join(base, 'model'), input, output: inside(base, pathSegment(step), 'output') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return dirs;
}

/** Points `last/<step>` at a successful step's output. */
export function recordLastOutput(dataDir: string, pipeline: string, group: string, step: string, output: string) {
  const lastDir = join(groupDir(dataDir, pipeline, group), 'last');
  mkdirSync(lastDir, { recursive: true });
  const link = inside(lastDir, pathSegment(step));
  const tmp = `${link}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(output, tmp);
  renameSync(tmp, link); // atomic replace: a reader sees the old or the new output, never none
}

/** Where `last/<step>` points, if that is still there and inside the group's folder (links are only ever made there). */
function lastOutput(dataDir: string, pipeline: string, group: string, step: string): string | null {
  const dir = groupDir(dataDir, pipeline, group);
  try {
    const target = readlinkSync(inside(dir, 'last', pathSegment(step)));
    return target.startsWith(dir + sep) && exists(target) ? target : null;
  } catch {
    return null;
  }
}

/** Deletes all but the newest KEEP_RUNS run folders of a group, never one a `last` link points into. */
export function pruneRuns(dataDir: string, pipeline: string, group: string) {
  const dir = groupDir(dataDir, pipeline, group);
  let runs: string[];
  try {
    runs = readdirSync(dir)
      .filter((n) => n.startsWith('r-'))
      .sort(); // run ids sort by creation time
  } catch {
    return;
  }
  const linked = new Set<string>();
  try {
    for (const step of readdirSync(join(dir, 'last'))) {
      const target = readlinkSync(join(dir, 'last', step));
      const run = target.slice(dir.length + 1).split('/')[0];
      if (run) linked.add(run);
    }
  } catch {
    // no last links yet
  }
  for (const run of runs.slice(0, Math.max(0, runs.length - KEEP_RUNS))) {
    if (!linked.has(run)) rmSync(join(dir, run), { recursive: true, force: true });
  }
}

function exists(path: string) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
