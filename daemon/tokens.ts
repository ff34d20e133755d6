/**
 * The operator token file (docs/security.md, "Authentication"): created mode 0600 in the data dir on first start, so
 * whoever can read the data dir can operate the daemon and nobody else can.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tokenFile } from '../shared/paths.js';
import type { Logger } from './log.js';
import type { Store } from './store/db.js';

/** Makes sure `<dataDir>/token` holds a valid operator token; returns its name. */
export function ensureOperatorTokenFile(dataDir: string, store: Store, log: Logger): string {
  const file = tokenFile(dataDir);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(file, 0o600);
      log.warn('auth', `${file} was readable by others (mode ${mode.toString(8)}): set to 600`);
    }
    const known = store.tokens.verify(readFileSync(file, 'utf8').trim());
    if (known?.role === 'operator') return known.name;
    log.warn('auth', `${file} does not hold a valid operator token for this data dir: writing a new one`);
  }
  const taken = new Set(store.tokens.list().map((t) => t.name));
  let name = 'operator';
  for (let n = 2; taken.has(name); n++) name = `operator-${n}`;
  const { secret } = store.tokens.create(name, 'operator');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, secret + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  log.info('auth', `wrote operator token '${name}' to ${file} (mode 600)`);
  return name;
}
