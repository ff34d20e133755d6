/**
 * The serving service against a real store: closing it stops every server it started (real processes); in
 * multi-model mode one server hosts a pipeline's variants, and the server budget counts it once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEventBus } from '../../../daemon/events.js';
import { createLogger } from '../../../daemon/log.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import { artifactDir } from '../../../daemon/runs/artifacts.js';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { createServing } from '../../../daemon/serving/service.js';
import { openStore } from '../../../daemon/store/db.js';
import { PipelineFileSchema } from '../../../shared/config/schema.js';
import { eventually } from '../../helpers/daemon.js';
import { MULTI_MODEL_SERVE_PY } from '../../helpers/multi-model.js';
import { isAlive, pidsWithEnv } from '../../helpers/processes.js';

describe('serving service', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-serving-'));
  const store = openStore(dataDir);
  after(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const inForce = (backend: string): InForcePipeline =>
    ({
      name: 'forecast',
      dir: dataDir,
      config: PipelineFileSchema.parse({ pipeline: { name: 'forecast', deployment: { backend } } }),
      problems: [],
      loadedAt: 0,
    }) as unknown as InForcePipeline;

  it('stops a server still draining when it closes, so none outlives the daemon', async () => {
    const pipelineDir = mkdtempSync(join(tmpdir(), 'mlp-serving-pipeline-'));
    writeFileSync(join(pipelineDir, 'serve.py'), SERVE_PY);
    const pipeline = { ...inForce('local'), dir: pipelineDir } as InForcePipeline;
    const serving = createServing({
      store,
      storage: createStorageHealth({ log: createLogger({ write: () => undefined }), file: store.file }),
      log: createLogger({ write: () => undefined }),
      bus: createEventBus(),
      dataDir,
      pipelines: () => [pipeline],
      pipeline: () => pipeline,
      groupsOf: () => ['london'],
      backend: () => createLocalServerBackend(),
      drainMs: 60_000,
      clock: { now: () => 1_234_000 },
    });
    const { version } = store.modelVersions.create({
      pipeline: 'forecast',
      group: 'london',
      artifactUri: 'file:///models/forecast/london',
      at: 1,
    });
    let pids: number[] = [];
    try {
      await serving.startCandidate('forecast', 'london', version);
      pids = pidsWithEnv({ PORT: String(serving.endpointOf('forecast', 'london', 'candidate')!.port) });
      assert.ok(pids.length > 0, 'the model server runs');
      // What the server was seen doing is stamped by the injected clock, not the machine's.
      assert.equal(store.variants.live('forecast').find((v) => v.role === 'candidate')?.updatedAt, 1_234_000);
      const retiring = serving.retireCandidates('forecast'); // out of the routes, draining for a minute
      await serving.close();
      // Stopping ends when the server's shell exits; the Python under it may take a moment more.
      await eventually(() => (pids.some(isAlive) ? undefined : true), 5_000, 'the draining server to be stopped with the service');
      await retiring;
    } finally {
      for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
      rmSync(pipelineDir, { recursive: true, force: true });
    }
  });

  it('in multi-model mode, hosts the variants of every group of a pipeline on one server, which the budget counts once', async () => {
    const pipelineDir = mkdtempSync(join(tmpdir(), 'mlp-serving-pipeline-'));
    writeFileSync(join(pipelineDir, 'serve.py'), MULTI_MODEL_SERVE_PY);
    const multiModel = (name: string) =>
      ({
        name,
        dir: pipelineDir,
        config: PipelineFileSchema.parse({ pipeline: { name, serve: { mode: 'multi-model' } } }),
        problems: [],
        loadedAt: 0,
      }) as unknown as InForcePipeline;
    const pipelines = [multiModel('shop'), multiModel('other')];
    const serving = createServing({
      store,
      storage: createStorageHealth({ log: createLogger({ write: () => undefined }), file: store.file }),
      log: createLogger({ write: () => undefined }),
      bus: createEventBus(),
      dataDir,
      pipelines: () => pipelines,
      pipeline: (name) => pipelines.find((p) => p.name === name),
      groupsOf: () => ['london', 'paris'],
      backend: () => createLocalServerBackend(),
      maxServers: () => 1,
      drainMs: 0,
    });
    const version = (pipeline: string, group: string) => {
      const v = store.modelVersions.create({ pipeline, group, artifactUri: 'file:///models', at: 1 }).version;
      const dir = artifactDir(dataDir, pipeline, group, v);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ group, behaviour: {} }));
      return v;
    };
    try {
      await serving.startCandidate('shop', 'london', version('shop', 'london'));
      await serving.startCandidate('shop', 'paris', version('shop', 'paris'));
      assert.deepEqual(serving.servers(), { total: 1, live: 1, starting: 0, waiting: 0, failed: 0, draining: 0, max: 1 });
      const paris = serving.endpointOf('shop', 'paris', 'candidate')!;
      assert.equal(paris.port, serving.endpointOf('shop', 'london', 'candidate')!.port, 'one server');
      assert.deepEqual({ path: paris.path, model: paris.model }, { path: '/models/paris--v1/invoke', model: 'paris--v1' });
      const route = serving.table.lookup('shop', 'paris');
      assert.equal(route.kind === 'route' && route.route.variants[0]!.invocationsPath, '/models/paris--v1/invoke');
      const answer = await fetch(`http://127.0.0.1:${paris.port}${paris.path}`, { method: 'POST', body: '{"x": 2}' });
      assert.deepEqual(await answer.json(), { y: 4, model: 'paris--v1', group: 'paris' });
      // Another pipeline needs a server of its own: over the budget.
      await assert.rejects(
        serving.startCandidate('other', 'london', version('other', 'london')),
        /v1 of other\/london needs a model server, and 1 of serving.max_servers 1 run/,
      );
      await serving.retireCandidates('shop');
      assert.equal(serving.servers().total, 0, 'the server stopped with its last model');
    } finally {
      await serving.close();
      rmSync(pipelineDir, { recursive: true, force: true });
    }
  });
});

/** The serving contract at its smallest: GET /ping answers 200 on PORT. */
const SERVE_PY = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`;
