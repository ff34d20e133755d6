/** Upgrading a data dir whose group folders were named by the raw group: they move to the new names, once. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { artifactDir } from '../../daemon/runs/artifacts.js';
import { moveLegacyGroupFolders } from '../../daemon/runs/legacy-folders.js';
import { groupDir, stepDirs } from '../../daemon/runs/workspace.js';

function write(path: string, text: string) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

describe('moveLegacyGroupFolders', () => {
  it('moves folders named by a raw group to its segment, keeps last/ links working, and leaves the rest alone', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const oldRun = join(dataDir, 'runs', 'forecast', 'São Paulo', 'r-1');
    write(join(oldRun, 'preprocess', 'output', 'features.json'), '{"rows": 3}');
    mkdirSync(join(dataDir, 'runs', 'forecast', 'São Paulo', 'last'));
    symlinkSync(join(oldRun, 'preprocess', 'output'), join(dataDir, 'runs', 'forecast', 'São Paulo', 'last', 'preprocess'));
    write(join(dataDir, 'artifacts', 'forecast', 'São Paulo', 'v1', 'model.json'), '{"group": "São Paulo"}');
    write(join(dataDir, 'artifacts', 'forecast', 'london', 'v1', 'model.json'), '{"group": "london"}');

    const lines = moveLegacyGroupFolders(dataDir);
    assert.deepEqual(lines, [
      'moved runs/forecast/São Paulo -> runs/forecast/sao-paulo~f00fd81daee53cae',
      'moved artifacts/forecast/São Paulo -> artifacts/forecast/sao-paulo~f00fd81daee53cae',
    ]);
    assert.equal(readFileSync(join(artifactDir(dataDir, 'forecast', 'São Paulo', 1), 'model.json'), 'utf8'), '{"group": "São Paulo"}');
    assert.equal(readFileSync(join(artifactDir(dataDir, 'forecast', 'london', 1), 'model.json'), 'utf8'), '{"group": "london"}');
    assert.equal(existsSync(join(dataDir, 'runs', 'forecast', 'São Paulo')), false);
    // train on its own still reads what the last preprocess wrote
    const dirs = stepDirs(dataDir, 'forecast', 'São Paulo', 'r-2', 'train', 'preprocess');
    assert.equal(realpathSync(dirs.input), join(groupDir(dataDir, 'forecast', 'São Paulo'), 'r-1', 'preprocess', 'output'));

    assert.deepEqual(moveLegacyGroupFolders(dataDir), []);
  });
});
