/**
 * Data dirs written before names became path segments (data-paths.ts) keep a group's runs and versions
 * under its raw name: `runs/forecast/São Paulo/`. This moves such folders to where they are looked for
 * now (`runs/forecast/sao-paulo~f00f…/`) so live versions keep serving after an upgrade, and points the
 * moved `last/` links at the moved runs. It runs when the daemon starts and before `mlp run`; a folder
 * already in the new layout is left alone, so running it again does nothing.
 *
 * Only folders directly inside a pipeline's folder can be moved: a raw name like `../x` may have put
 * files anywhere, even outside the data dir, and mlp no longer reads or writes there.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { inside, pathSegment } from '../data-paths.js';

/** What `pathSegment` makes of a name that is not plain: a readable part, `~`, 16 hex digits. */
const ENCODED = /^([a-z0-9]+(-[a-z0-9]+)*|_)~[0-9a-f]{16}$/;

/** Moves every group folder named the old way; returns one line per folder moved (or not movable), for the log. */
export function moveLegacyGroupFolders(dataDir: string): string[] {
  const lines: string[] = [];
  for (const area of ['runs', 'artifacts']) {
    for (const pipelineDir of subfolders(inside(dataDir, area))) {
      for (const name of entries(pipelineDir, lines)) {
        const segment = pathSegment(name);
        if (segment === name || ENCODED.test(name)) continue;
        const from = join(pipelineDir, name);
        const to = inside(pipelineDir, segment);
        const what = `${relative(dataDir, from)} -> ${relative(dataDir, to)}`;
        try {
          if (!lstatSync(from).isDirectory() || existsSync(to)) continue;
          renameSync(from, to);
          if (area === 'runs') relinkLast(to, from);
          lines.push(`moved ${what}`);
        } catch (err) {
          // Another mlp moved it first; anything else is reported, and the folder stays where it was.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') lines.push(`cannot move ${what}: ${(err as Error).message}`);
        }
      }
    }
  }
  return lines;
}

/** `last/<step>` links name absolute paths: those into the old folder now point into the moved one. */
function relinkLast(groupDir: string, oldDir: string) {
  const lastDir = join(groupDir, 'last');
  if (!existsSync(lastDir)) return;
  for (const step of readdirSync(lastDir)) {
    const link = join(lastDir, step);
    const target = readlinkSync(link);
    if (!target.startsWith(oldDir + sep)) continue;
    rmSync(link);
    symlinkSync(groupDir + target.slice(oldDir.length), link);
  }
}

function subfolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
}

/** A folder's entries; one that cannot be read is reported and skipped, so a daemon still starts. */
function entries(dir: string, lines: string[]): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    lines.push(`cannot look for folders to move in ${dir}: ${(err as Error).message}`);
    return [];
  }
}
