import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandFor, KEY_BINDINGS } from '../../tui/keys.js';
import { spliceKeys } from '../../tui/keys-doc.js';
import { ROOT } from '../helpers/cli.js';

test('the README key section is the one generated from the key table (run `npm run docs:keys`)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.equal(readme, spliceKeys(readme), 'README.md is stale: run `npm run docs:keys`');
});

test('no key means two things in the same scope', () => {
  const seen = new Map<string, string>();
  for (const b of KEY_BINDINGS) {
    for (const k of b.keys) {
      const id = `${b.scope ?? 'main'}:${k}`;
      assert.ok(!seen.has(id), `${id} is bound to ${seen.get(id)} and ${b.command}`);
      seen.set(id, b.command);
    }
  }
});

test('keys find their commands, per scope', () => {
  assert.equal(commandFor('j')?.command, 'down');
  assert.equal(commandFor('up')?.command, 'up');
  assert.equal(commandFor('space')?.command, 'pause-resume');
  assert.equal(commandFor('escape')?.command, 'back');
  assert.equal(commandFor('escape', 'confirm')?.command, 'no');
  assert.equal(commandFor('y'), undefined);
  assert.equal(commandFor('y', 'confirm')?.command, 'yes');
  assert.equal(commandFor('p')?.operatorOnly, true);
});
