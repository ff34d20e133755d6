/** Names from data become one path segment each, and paths built from them stay inside their root. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { inside, pathSegment } from '../../daemon/data-paths.js';
import { artifactDir } from '../../daemon/runs/artifacts.js';
import { groupDir, recordLastOutput, stepDirs } from '../../daemon/runs/workspace.js';

/** Names a warehouse column can hold, the hostile ones included. */
const NAMES = [
  'london',
  'new-york',
  'v3',
  'r-01jd7x',
  'a.b_c',
  'London',
  'LONDON',
  'São Paulo',
  'São Paulo'.normalize('NFD'),
  'sao paulo',
  'New York',
  'new york',
  '.',
  '..',
  '...',
  '.hidden',
  '-x',
  '_x',
  '/',
  '\\',
  'a/b',
  'a\\b',
  '../../../../OUTSIDE',
  '../other-pipeline/default',
  'x:/etc:rw',
  'tab\there',
  'nul\0byte',
  '~',
  'a~b',
  ' london',
  'london ',
  '東京',
  '🙂',
  'x'.repeat(64),
  'x'.repeat(65),
  'é'.repeat(300),
];

describe('pathSegment', () => {
  it('keeps plain names as they are', () => {
    for (const name of ['london', 'new-york', 'v3', 'r-01jd7x', 'a.b_c', 'default', 'x'.repeat(64)]) assert.equal(pathSegment(name), name);
  });

  it('turns every other name into one readable segment with a hash of the exact name', () => {
    assert.match(pathSegment('São Paulo'), /^sao-paulo~[0-9a-f]{16}$/);
    assert.match(pathSegment('../../../../OUTSIDE'), /^outside~[0-9a-f]{16}$/);
    assert.match(pathSegment('../other-pipeline/default'), /^other-pipeline-default~[0-9a-f]{16}$/);
    assert.match(pathSegment('..'), /^_~[0-9a-f]{16}$/);
    for (const name of NAMES) {
      const s = pathSegment(name);
      assert.ok(s.length > 0 && s.length <= 64, `${JSON.stringify(name)} -> ${s}`);
      assert.doesNotMatch(s, /[/\\\0:\s]|^\.|[A-Z]/, `${JSON.stringify(name)} -> ${s}`);
      assert.notEqual(s, '.');
      assert.notEqual(s, '..');
    }
  });

  it('never gives two names the same segment, even on a case- or normalization-insensitive file system', () => {
    const seen = new Map<string, string>();
    for (const name of NAMES) {
      const key = pathSegment(name).normalize('NFC').toLowerCase();
      assert.equal(seen.get(key) ?? name, name, `${JSON.stringify(name)} and ${JSON.stringify(seen.get(key))} share ${key}`);
      seen.set(key, name);
    }
  });

  it('is stable: the same name finds the same folder again', () => {
    for (const name of NAMES) assert.equal(pathSegment(name), pathSegment(name));
  });
});

describe('inside', () => {
  const root = '/data';
  it('joins segments under the root', () => {
    assert.equal(inside(root, 'runs', 'p', 'london'), '/data/runs/p/london');
    assert.equal(inside('/data/', '.incoming-r-1'), '/data/.incoming-r-1');
  });

  it('refuses anything that is not one plain segment, so nothing can leave the root', () => {
    for (const bad of ['..', '.', '', 'a/b', '../x', '/etc', 'a\\b', 'nul\0']) {
      assert.throws(
        () => inside(root, 'runs', bad),
        /refusing the path segment .* under \/data: it is not one plain folder or file name/,
        JSON.stringify(bad),
      );
    }
  });

  it('every name from data lands in a folder of its own, directly under the root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-segments-'));
    for (const name of NAMES) {
      const path = inside(dir, pathSegment(name));
      assert.equal(dirname(path), dir, JSON.stringify(name));
      mkdirSync(path);
    }
    assert.equal(readdirSync(dir).length, NAMES.length);
  });
});

describe('run and artifact folders', () => {
  it('keep hostile groups inside the data dir and inside their own pipeline', () => {
    // Deep in a folder of its own, so that a regression writes there, not into / or /tmp.
    const around = mkdtempSync(join(tmpdir(), 'mlp-around-'));
    const dataDir = join(around, 'a', 'b', 'data');
    for (const group of ['../../../../OUTSIDE', '../other-pipeline/default', '..', 'a/../../b']) {
      const dirs = stepDirs(dataDir, 'forecast', group, 'r-1', 'train', null);
      recordLastOutput(dataDir, 'forecast', group, 'train', dirs.output);
      for (const path of [
        groupDir(dataDir, 'forecast', group),
        dirs.model,
        dirs.input,
        dirs.output,
        artifactDir(dataDir, 'forecast', group, 1),
      ]) {
        const rel = relative(dataDir, path);
        assert.match(rel, /^(runs|artifacts)\/forecast\/[^/]+~[0-9a-f]{16}(\/|$)/, `${group}: ${path}`);
      }
    }
    assert.deepEqual(
      readdirSync(around, { recursive: true, encoding: 'utf8' })
        .filter((p) => !p.startsWith('a/b/data/'))
        .sort(),
      ['a', 'a/b', 'a/b/data'],
    );
    assert.deepEqual(readdirSync(dataDir), ['runs']);
    assert.deepEqual(readdirSync(join(dataDir, 'runs')), ['forecast']);
  });
});
