/** Refused writes kept and retried (issue 9, item 2), against a real store whose connection refuses writes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { createStorageHealth } from '../../daemon/storage-health.js';
import { freshStore, refuseWrites, withVersions } from './store/helpers.js';

const until = async (probe: () => boolean, what: string, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('storage health', () => {
  it('keeps the latest refused write per record, says so once, and writes it when storage recovers', async () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 1);
    const v = store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
    const lines: string[] = [];
    const storage = createStorageHealth({ log: createLogger({ write: (l) => lines.push(l) }), file: store.file, retryEveryMs: 50 });
    const observe = (port: number) => () =>
      store.variants.observe(v.id, { state: 'live', port, handle: null, restarts: port - 4000, lastError: null });
    try {
      refuseWrites(store, true);
      assert.equal(storage.write(`variant ${v.id}`, observe(4001)), false);
      assert.equal(storage.write(`variant ${v.id}`, observe(4002)), false);
      assert.deepEqual(
        { ...storage.problem(), since: 0 },
        { error: 'attempt to write a readonly database', since: 0, failedWrites: 2, pendingWrites: 1 },
      );
      assert.equal(lines.filter((l) => /storage: cannot write to .*mlp\.db: attempt to write a readonly database/.test(l)).length, 1);
      // A write that storage refuses now and that turns out wrong later (no such version) is dropped, said.
      assert.equal(
        storage.write(
          'bad',
          () => void store.variants.create({ pipeline: 'p', group: 'g', version: 9, role: 'candidate', weight: 0, backend: 'local' }),
        ),
        false,
      );
      assert.equal(storage.problem()!.pendingWrites, 2);

      refuseWrites(store, false);
      assert.throws(
        () =>
          storage.write(
            'conflict',
            () => void store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 0, backend: 'local' }),
          ),
        /already has a live current variant/,
        'errors not about storage are thrown',
      );
      await until(() => storage.problem()?.pendingWrites === 0, 'the kept writes to be written');
      assert.equal(store.variants.get(v.id)!.port, 4002, 'the latest state, not the first refused one');
      assert.ok(storage.problem(), 'recovery is said after a quiet spell, not at the first write that succeeds');
      assert.doesNotMatch(lines.join('\n'), /accepts writes again after/);
      await until(() => storage.problem() === null, 'the quiet spell to pass');
      assert.match(lines.join('\n'), /accepts writes again after \d+s/);
      assert.match(lines.join('\n'), /a kept write \(bad\) failed and is dropped: .*no model version v9/);
    } finally {
      refuseWrites(store, false);
      storage.close();
    }
  });

  it('writes many records in one transaction, or keeps each under its own key when storage refuses them', async () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 1);
    withVersions(store, 'p', 'h', 1);
    const a = store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
    const b = store.variants.create({ pipeline: 'p', group: 'h', version: 1, role: 'current', weight: 100, backend: 'local' });
    const storage = createStorageHealth({ log: createLogger({ write: () => undefined }), file: store.file, retryEveryMs: 50 });
    const observe = (id: number, port: number) => () =>
      store.variants.observe(id, { state: 'live', port, handle: null, restarts: 0, lastError: null });
    const together = (all: () => void) => store.transaction(all);
    try {
      refuseWrites(store, true);
      assert.equal(storage.write(`variant ${a.id}`, observe(a.id, 5001)), false);
      refuseWrites(store, false);
      // Written together: the older refused write of `a` is superseded, not replayed over the newer state later.
      const both = new Map([
        [`variant ${a.id}`, observe(a.id, 5002)],
        [`variant ${b.id}`, observe(b.id, 6002)],
      ]);
      assert.equal(storage.writeTogether(both, together), true);
      assert.equal(storage.problem()!.pendingWrites, 0);
      await new Promise((r) => setTimeout(r, 120)); // past a retry
      assert.deepEqual([store.variants.get(a.id)!.port, store.variants.get(b.id)!.port], [5002, 6002]);

      refuseWrites(store, true);
      const again = new Map([
        [`variant ${a.id}`, observe(a.id, 5003)],
        [`variant ${b.id}`, observe(b.id, 6003)],
      ]);
      assert.equal(storage.writeTogether(again, together), false);
      assert.equal(storage.problem()!.pendingWrites, 2, 'each record waits under its own key');
      refuseWrites(store, false);
      await until(() => storage.problem()?.pendingWrites === 0, 'the kept writes to be written');
      assert.deepEqual([store.variants.get(a.id)!.port, store.variants.get(b.id)!.port], [5003, 6003]);
      assert.throws(
        () =>
          storage.writeTogether(
            new Map([
              [
                'bad',
                () => store.variants.observe(a.id, { state: 'nonsense' as 'live', port: null, handle: null, restarts: 0, lastError: null }),
              ],
            ]),
            together,
          ),
        /CHECK constraint/,
        'errors not about storage are thrown',
      );
    } finally {
      refuseWrites(store, false);
      storage.close();
    }
  });
});
