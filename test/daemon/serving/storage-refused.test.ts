/**
 * A model server exits while the database refuses writes (issue 9, item 2): the supervisor's report
 * must not escape as an uncaught error. The router follows the restarted server from memory, the
 * problem is said once, and the server's state is stored once writes succeed again.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PipelineFileSchema } from '../../../shared/config/schema.js';
import { createEventBus } from '../../../daemon/events.js';
import { createLogger } from '../../../daemon/log.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import { artifactDir } from '../../../daemon/runs/artifacts.js';
import { createCaptureWriter, type CaptureWriter } from '../../../daemon/serving/capture/writer.js';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { createServing, type Serving } from '../../../daemon/serving/service.js';
import { createStorageHealth, type StorageHealth } from '../../../daemon/storage-health.js';
import { openStore } from '../../../daemon/store/db.js';
import { SERVE_PY } from '../../helpers/pipelines.js';
import { refuseWrites } from '../store/helpers.js';

const until = async <T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('a model server exits while the database refuses writes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-refused-'));
  const store = Object.assign(openStore(join(dataDir, 'data')), { dataDir: join(dataDir, 'data') });
  const pipelineDir = join(dataDir, 'repo', 'p');
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  let storage: StorageHealth;
  let serving: Serving;
  let router: Router;
  let capture: CaptureWriter;

  before(async () => {
    mkdirSync(pipelineDir, { recursive: true });
    writeFileSync(join(pipelineDir, 'serve.py'), SERVE_PY);
    const v = store.modelVersions.create({ pipeline: 'p', group: 'g', artifactUri: (n) => artifactDir(store.dataDir, 'p', 'g', n) });
    mkdirSync(v.artifactUri, { recursive: true });
    writeFileSync(join(v.artifactUri, 'model.json'), JSON.stringify({ group: 'g', scale: 1 }));
    store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
    const pipeline = {
      name: 'p',
      dir: pipelineDir,
      file: join(pipelineDir, 'pipeline.yaml'),
      config: PipelineFileSchema.parse({ pipeline: { name: 'p' } }),
      hash: 'h',
      loadedAt: 0,
      problems: [],
    } as unknown as InForcePipeline;
    storage = createStorageHealth({ log, file: store.file, retryEveryMs: 100 });
    serving = createServing({
      store,
      storage,
      log,
      bus: createEventBus(),
      dataDir: store.dataDir,
      pipelines: () => [pipeline],
      pipeline: () => pipeline,
      groupsOf: () => ['g'],
      backend: () => createLocalServerBackend(),
    });
    await serving.restore();
    capture = createCaptureWriter({ dir: join(store.dataDir, 'capture'), retention: { days: 1, maxBytes: 1e9 } });
    router = await startRouter({ host: '127.0.0.1', port: 0, table: serving.table, capture, metrics: createLiveMetrics() });
    await until(() => (store.variants.live()[0]?.state === 'live' ? true : undefined), 'v1 to be live');
  });
  after(async () => {
    await router?.close();
    await capture?.close();
    await serving?.close();
    storage?.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps routing, says so once, and stores the state when writes succeed again', async () => {
    const before = store.variants.live()[0]!;
    const invoke = () =>
      fetch(`http://127.0.0.1:${router.port}/endpoints/p/groups/g/invocations`, {
        method: 'POST',
        body: '{"x": 1}',
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await invoke()).status, 200);

    refuseWrites(store, true);
    process.kill(-Number(before.handle!.replace('pid:', '')), 'SIGKILL'); // the server's process group
    const port = await until(() => {
      const route = serving.table.lookup('p', 'g');
      const target = route.kind === 'route' ? route.route.variants[0] : undefined;
      return target && target.port !== before.port ? target.port : undefined;
    }, 'the restarted server to take the route');
    assert.equal((await invoke()).status, 200);

    const problem = storage.problem();
    assert.match(problem?.error ?? '', /readonly/);
    assert.ok(problem!.pendingWrites >= 1);
    assert.equal(lines.filter((l) => l.includes('storage: cannot write to')).length, 1, lines.join('\n'));
    assert.equal(store.variants.get(before.id)!.port, before.port, 'nothing was stored yet');

    refuseWrites(store, false);
    await until(() => (storage.problem() === null ? true : undefined), 'the kept write to be stored');
    const stored = store.variants.get(before.id)!;
    assert.deepEqual({ state: stored.state, port: stored.port, restarts: stored.restarts }, { state: 'live', port, restarts: 1 });
    assert.match(stored.lastError ?? '', /exited/);
    assert.ok(lines.some((l) => /accepts writes again after \d+s/.test(l)));
  });
});
