/**
 * A pipeline.yaml edit that lands while the database refuses writes (issue 9, item 2): it cannot be
 * recorded, so it is not applied yet, and it is applied on its own once writes succeed again, not
 * only at the next edit.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { startRepoService } from '../../daemon/repo/service.js';
import { createStorageHealth } from '../../daemon/storage-health.js';
import { makeRepo } from '../helpers/repo.js';
import { freshStore, refuseWrites } from './store/helpers.js';

describe('repo reload while the database refuses writes', () => {
  it('applies the edit once it can be recorded', async () => {
    const repo = makeRepo({ 'forecast/pipeline.yaml': 'pipeline:\n  name: forecast\n' });
    const store = freshStore();
    const log = createLogger({ write: () => undefined });
    const storage = createStorageHealth({ log, file: store.file, retryEveryMs: 50 });
    const service = await startRepoService({ root: repo, store, storage, log });
    try {
      assert.equal(service.registry.get('forecast')!.config.pipeline.schedule, undefined);
      refuseWrites(store, true);
      writeFileSync(join(repo, 'forecast/pipeline.yaml'), 'pipeline:\n  name: forecast\n  schedule: "@daily"\n');
      await service.reload();
      assert.equal(service.registry.get('forecast')!.config.pipeline.schedule, undefined, 'not applied while it cannot be recorded');
      assert.ok(storage.problem());

      refuseWrites(store, false);
      const deadline = Date.now() + 5_000;
      while (service.registry.get('forecast')!.config.pipeline.schedule !== '@daily') {
        assert.ok(Date.now() < deadline, 'the edit was applied once writes succeeded');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((store.pipelines.get('forecast')?.config as { pipeline: { schedule?: string } }).pipeline.schedule, '@daily');
    } finally {
      refuseWrites(store, false);
      await service.close();
      storage.close();
    }
  });
});
