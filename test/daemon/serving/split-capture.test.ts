/**
 * Issue #4's acceptance, on the real parts without the daemon around them: two versions of a group
 * live at once with weights 90/10 (real model server processes, supervised), the router splits
 * 1,000 requests exactly, each answer names its variant, and every request is in Data Capture once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PipelineFileSchema } from '../../../shared/config/schema.js';
import { createEventBus } from '../../../daemon/events.js';
import { createLogger } from '../../../daemon/log.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import { artifactDir } from '../../../daemon/runs/artifacts.js';
import { createCaptureWriter, type CaptureWriter } from '../../../daemon/serving/capture/writer.js';
import { readCapture } from '../../../daemon/serving/capture/reader.js';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { createServing, type Serving } from '../../../daemon/serving/service.js';
import { openStore, type Store } from '../../../daemon/store/db.js';
import { SERVE_PY } from '../../helpers/pipelines.js';

describe('two versions live at 90/10', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-split-'));
  const pipelineDir = join(dataDir, 'repo', 'p');
  let store: Store;
  let serving: Serving;
  let router: Router;
  let capture: CaptureWriter;
  const metrics = createLiveMetrics();

  before(async () => {
    mkdirSync(pipelineDir, { recursive: true });
    writeFileSync(join(pipelineDir, 'serve.py'), SERVE_PY);
    store = openStore(dataDir);
    for (const scale of [1, 2]) {
      const v = store.modelVersions.create({ pipeline: 'p', group: 'g', artifactUri: (n) => artifactDir(dataDir, 'p', 'g', n) });
      mkdirSync(v.artifactUri, { recursive: true });
      writeFileSync(join(v.artifactUri, 'model.json'), JSON.stringify({ group: 'g', scale }));
    }
    store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 90, backend: 'local' });
    store.variants.create({ pipeline: 'p', group: 'g', version: 2, role: 'candidate', weight: 10, backend: 'local' });

    const pipeline: InForcePipeline = {
      name: 'p',
      dir: pipelineDir,
      file: join(pipelineDir, 'pipeline.yaml'),
      config: PipelineFileSchema.parse({ pipeline: { name: 'p', serve: { command: 'python3 serve.py' } } }),
      hash: 'h',
      loadedAt: 0,
      problems: [],
    };
    serving = createServing({
      store,
      storage: createStorageHealth({ log: createLogger({ write: () => {} }), file: store.file }),
      log: createLogger({ write: () => {} }),
      bus: createEventBus(),
      dataDir,
      pipelines: () => [pipeline],
      pipeline: () => pipeline,
      groupsOf: () => ['g'],
      backend: () => createLocalServerBackend(),
    });
    await serving.restore();
    capture = createCaptureWriter({ dir: join(dataDir, 'capture'), retention: { days: 1, maxBytes: 1e9 } });
    router = await startRouter({ host: '127.0.0.1', port: 0, table: serving.table, capture, metrics });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = serving.table.lookup('p', 'g');
      if (found.kind === 'route' && found.route.variants.length === 2) break;
      if (Date.now() > deadline) throw new Error('the two model servers did not become live');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await router?.close();
    await serving?.close();
    store?.close();
  });

  it('splits 1,000 requests exactly and captures each once', async () => {
    const answeredBy: Record<string, number> = {};
    const url = `http://127.0.0.1:${router.port}/endpoints/p/groups/g/invocations`;
    let next = 0;
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        const res = await fetch(url, {
          method: 'POST',
          body: JSON.stringify({ x: i }),
          headers: { 'content-type': 'application/json', 'x-mlp-inference-id': `req-${i}` },
        });
        const body = (await res.json()) as { y: number; model: string };
        const variant = res.headers.get('x-mlp-variant')!;
        assert.equal(res.status, 200);
        assert.equal(body.model, variant, 'the header names the server that answered');
        assert.equal(body.y, i * (variant === 'v1' ? 2 : 3));
        answeredBy[variant] = (answeredBy[variant] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(answeredBy, { v1: 900, v2: 100 });

    await capture.flush();
    const seen = new Map<string, string>();
    for await (const r of readCapture({ dir: join(dataDir, 'capture'), pipeline: 'p', group: 'g', sinceMs: 0, limit: 10_000 })) {
      assert.ok(!seen.has(r.inferenceId!), `${r.inferenceId} captured twice`);
      seen.set(r.inferenceId!, r.variant);
      assert.equal(r.status, 200);
      assert.equal(r.contentType, 'application/json');
    }
    assert.equal(seen.size, 1000);
    assert.equal([...seen.values()].filter((v) => v === 'v2').length, 100);

    const m = metrics.variant('p', 'g', 'v2')!;
    assert.equal(m.total.requests, 100);
    assert.equal(m.window.errorRate, 0);
  });
});
