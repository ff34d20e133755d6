/** `npm run docs:keys`: writes the README's TUI key section from tui/keys.ts (test/tui/keys.test.ts fails when it is stale). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spliceKeys } from '../tui/keys-doc.js';

const readme = join(resolve(import.meta.dirname, '..'), 'README.md');
writeFileSync(readme, spliceKeys(readFileSync(readme, 'utf8')));
console.log('wrote README.md (TUI keys)');
