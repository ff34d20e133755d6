/** Gzipped tarballs through the system's `tar` (GNU tar and bsdtar both take these flags). */
import { execFile } from 'node:child_process';

/** What never travels with a pipeline's code. */
export const PACK_EXCLUDES = ['.git', 'node_modules', '__pycache__', '.venv'];

/** Packs the contents of `dir` (not the folder itself) into `file`. */
export function pack(dir: string, file: string, excludes: readonly string[] = PACK_EXCLUDES): Promise<void> {
  return tar(['czf', file, ...excludes.map((e) => `--exclude=${e}`), '-C', dir, '.'], `cannot pack ${dir}`);
}

/** Unpacks `file` into the existing folder `dir`. */
export function unpack(file: string, dir: string): Promise<void> {
  return tar(['xzf', file, '-C', dir], `cannot unpack ${file} into ${dir}`);
}

function tar(args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('tar', args, { maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'tar is not installed' : stderr.trim() || err.message;
      reject(new Error(`${what}: ${detail}`));
    });
  });
}
