/** Listing the capture folder tree: missing folders read as empty (retention may delete them meanwhile). */
import { readdir } from 'node:fs/promises';

export async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Sub-folder names, sorted. */
export async function dirs(dir: string): Promise<string[]> {
  return (await entries(dir))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
