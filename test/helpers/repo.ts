/** Throwaway pipeline repos on disk, written from a map of relative path -> content. */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** A copy of the bundled example repo (the quick start's), safe to edit. */
export function copyExampleRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-example-'));
  cpSync(join(ROOT, 'examples/repo'), dir, { recursive: true });
  return dir;
}
