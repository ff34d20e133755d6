import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore, type Store } from '../../../daemon/store/db.js';

function storeWithVersions(): Store {
  const store = openStore(mkdtempSync(join(tmpdir(), 'mlp-store-')));
  for (let i = 0; i < 3; i++) store.modelVersions.create({ pipeline: 'p', group: 'london', artifactUri: (v) => `/a/v${v}` });
  return store;
}

describe('variants', () => {
  it('declares a live variant, records what is observed, and survives reopening', () => {
    const store = storeWithVersions();
    const v = store.variants.create({ pipeline: 'p', group: 'london', version: 1, role: 'current', weight: 100, backend: 'local', at: 5 });
    assert.equal(v.state, 'starting');
    store.variants.observe(v.id, { state: 'live', port: 4242, handle: 'pid:77', restarts: 1, lastError: 'crashed once', at: 6 });
    const file = store.file;
    store.close();
    const again = openStore(join(file, '..'));
    const [live] = again.variants.live('p');
    assert.deepEqual(
      { ...live, id: 0 },
      {
        id: 0,
        pipeline: 'p',
        group: 'london',
        version: 1,
        role: 'current',
        weight: 100,
        backend: 'local',
        desired: 'live',
        state: 'live',
        port: 4242,
        handle: 'pid:77',
        restarts: 1,
        lastError: 'crashed once',
        createdAt: 5,
        updatedAt: 6,
      },
    );
  });

  it('allows one current and one candidate per group, each version once', () => {
    const store = storeWithVersions();
    const current = store.variants.create({ pipeline: 'p', group: 'london', version: 1, role: 'current', weight: 90, backend: 'local' });
    store.variants.create({ pipeline: 'p', group: 'london', version: 2, role: 'candidate', weight: 10, backend: 'local' });
    assert.throws(
      () => store.variants.create({ pipeline: 'p', group: 'london', version: 3, role: 'candidate', weight: 0, backend: 'local' }),
      /already has a live candidate/,
    );
    assert.throws(
      () => store.variants.create({ pipeline: 'p', group: 'paris', version: 9, role: 'candidate', weight: 0, backend: 'local' }),
      /p\/paris has no model version v9/,
    );
    store.variants.retire(current.id);
    assert.deepEqual(
      store.variants.live('p').map((v) => v.version),
      [2],
    );
    assert.equal(store.variants.get(current.id)!.weight, 0);
    // A retired version may serve again later.
    store.variants.create({ pipeline: 'p', group: 'london', version: 1, role: 'current', weight: 100, backend: 'local' });
  });
});
