/** Where the daemon keeps its state and clients find their token (README.md, "Finding the daemon" and "Data dir"). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEFAULT_URL = 'ws://127.0.0.1:7070';

/** `--data-dir`, else `MLP_DATA_DIR`, else `~/.mlp`. */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.MLP_DATA_DIR ?? join(homedir(), '.mlp'));
}

/** The operator token the daemon writes on first start. */
export const tokenFile = (dataDir: string) => join(dataDir, 'token');
