/** The serving service's refusals, against a real store: what a rollout is told when it cannot start a candidate. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEventBus } from '../../../daemon/events.js';
import { createLogger } from '../../../daemon/log.js';
import { createStorageHealth } from '../../../daemon/storageHealth.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import type { ServerBackend } from '../../../daemon/serving/servers.js';
import { createServing } from '../../../daemon/serving/service.js';
import { openStore } from '../../../daemon/store/db.js';
import { PipelineFileSchema } from '../../../shared/config/schema.js';

describe('serving service', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-serving-'));
  const store = openStore(dataDir);
  after(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const inForce = (backend: string): InForcePipeline =>
    ({ name: 'forecast', dir: dataDir, config: PipelineFileSchema.parse({ pipeline: { name: 'forecast', deployment: { backend } } }), problems: [], loadedAt: 0 }) as unknown as InForcePipeline;

  it('refuses a candidate of a pipeline on the sagemaker backend with what to change, and starts no server', async () => {
    const started: string[] = [];
    const backend: ServerBackend = {
      kind: 'local',
      start: async (spec: { port: number }) => (started.push(String(spec.port)), Promise.reject(new Error('no server in this test'))),
    } as unknown as ServerBackend;
    const serving = createServing({
      store,
      storage: createStorageHealth({ log: createLogger({ write: () => undefined }), file: store.file }),
      log: createLogger({ write: () => undefined }),
      bus: createEventBus(),
      dataDir,
      pipelines: () => [],
      pipeline: () => inForce('sagemaker'),
      groupsOf: () => ['london'],
      backend: () => backend,
    });
    await assert.rejects(serving.startCandidate('forecast', 'london', 1), /serving from SageMaker endpoints is not available.*set deployment\.backend to local or docker/);
    assert.deepEqual(started, []);
    assert.deepEqual(store.variants.live('forecast'), []);
  });
});
