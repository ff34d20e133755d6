/** Throwaway pipeline repos on disk, written from a map of relative path -> content. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { ROOT } from './cli.js';

export function makeRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-repo-'));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/**
 * A copy of the bundled example repo, safe to edit: its shared files (mlp.yaml, the warehouse) and
 * the pipelines named, by default demand-forecast alone (what tests of the daemon's behaviour use as
 * their fixture); `'all'` copies every pipeline.
 */
export function copyExampleRepo(pipelines: string[] | 'all' = ['demand-forecast']): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-example-'));
  const source = join(ROOT, 'examples/repo');
  cpSync(source, dir, {
    recursive: true,
    filter: (from) => {
      if (pipelines === 'all') return true;
      const top = relative(source, from).split(sep)[0]!;
      return top === '' || !existsSync(join(source, top, 'pipeline.yaml')) || pipelines.includes(top);
    },
  });
  return dir;
}
