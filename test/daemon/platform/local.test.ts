/**
 * The serving platform of the `local` and `docker` backends, and the selection in front of it, against a real
 * store and real model server processes: what a rollout is told when its backend has no platform yet, and what
 * the gates and the watch get from mlpd's own servers, router metrics and capture files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEventBus } from '../../../daemon/events.js';
import { createLogger } from '../../../daemon/log.js';
import { createLocalPlatform } from '../../../daemon/platform/local.js';
import { selectPlatforms } from '../../../daemon/platform/selection.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import { createCaptureWriter } from '../../../daemon/serving/capture/writer.js';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';
import { createLocalServerBackend, type ServerBackend } from '../../../daemon/serving/servers/servers.js';
import { createServing } from '../../../daemon/serving/service.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import { openStore } from '../../../daemon/store/db.js';
import { PipelineFileSchema } from '../../../shared/config/schema.js';

describe('the local serving platform', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-platform-'));
  const store = openStore(dataDir);
  after(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const quiet = createLogger({ write: () => undefined });

  const inForce = (backend: string, dir = dataDir): InForcePipeline =>
    ({
      name: 'forecast',
      dir,
      config: PipelineFileSchema.parse({ pipeline: { name: 'forecast', deployment: { backend } } }),
      problems: [],
      loadedAt: 0,
    }) as unknown as InForcePipeline;

  const servingOf = (pipeline: InForcePipeline, backend: ServerBackend) =>
    createServing({
      store,
      storage: createStorageHealth({ log: quiet, file: store.file }),
      log: quiet,
      bus: createEventBus(),
      dataDir,
      pipelines: () => [pipeline],
      pipeline: () => pipeline,
      groupsOf: () => ['london'],
      backend: () => backend,
    });

  it('calls a candidate directly, counts its traffic from its start, and reads back the capture', async () => {
    const pipelineDir = mkdtempSync(join(tmpdir(), 'mlp-platform-pipeline-'));
    writeFileSync(join(pipelineDir, 'serve.py'), SERVE_PY);
    const metrics = createLiveMetrics();
    const captureDir = join(dataDir, 'capture');
    const pipeline = inForce('local', pipelineDir);
    const platform = selectPlatforms({
      backendOf: () => 'local',
      liveVariants: (p) => store.variants.live(p),
      local: createLocalPlatform({ serving: servingOf(pipeline, createLocalServerBackend()), metrics, captureDir }),
      loadSageMaker: () => Promise.reject(new Error('a local pipeline never loads the SageMaker platform')),
    });
    const { version } = store.modelVersions.create({
      pipeline: 'forecast',
      group: 'london',
      artifactUri: 'file:///models/forecast/london',
      at: 1,
    });
    try {
      // What the router counted for this version before (an earlier start) does not count for the candidate.
      metrics.observe('forecast', 'london', `v${version}`, 500, 3, Date.now());
      await platform.startCandidate('forecast', 'london', version);
      assert.equal(platform.variantTraffic('forecast', 'london', `v${version}`), null);
      assert.equal(platform.candidatesDown('forecast'), null);

      const endpoint = platform.endpointOf('forecast', 'london', 'candidate')!;
      assert.equal(endpoint.variant, `v${version}`);
      assert.equal(endpoint.env.MLP_VARIANT, `v${version}`);
      assert.equal((await fetch(`${endpoint.env.MLP_ENDPOINT_URL}/ping`)).status, 200);
      const client = endpoint.connect({ connections: 1, timeoutMs: 5_000 });
      const answer = await client.invoke(Buffer.from('{"week":12}'), 'application/json');
      await client.close();
      assert.equal(answer.status, 200);
      assert.equal(answer.body.toString(), '{"echo": {"week":12}}');
      assert.equal(platform.endpointOf('forecast', 'london', 'current'), null, 'the group has no current version');

      for (let i = 0; i < 10; i++) metrics.observe('forecast', 'london', `v${version}`, i < 2 ? 500 : 200, 4, Date.now());
      const traffic = platform.variantTraffic('forecast', 'london', `v${version}`)!;
      assert.deepEqual(traffic.total, { requests: 10, errors: 2 });
      assert.deepEqual(
        traffic.windows.map((w) => [w.name, w.requests, w.errors, w.errorRate]),
        [
          ['60s', 10, 2, 0.2],
          ['last 1000', 10, 2, 0.2],
        ],
      );

      const writer = createCaptureWriter({ dir: captureDir, retention: { days: 30, maxBytes: 1e9 } });
      const now = Date.now();
      for (let i = 0; i < 3; i++) {
        writer.record({
          pipeline: 'forecast',
          group: 'london',
          variant: 'v1',
          at: now - 1000 + i,
          latencyMs: 1,
          status: 200,
          requestBody: Buffer.from(`{"i":${i}}`),
          requestContentType: 'application/json',
          responseBody: Buffer.from('{}'),
          responseContentType: 'application/json',
          inferenceId: `r${i}`,
        });
      }
      await writer.close();
      const captured = [];
      for await (const r of platform.capturedRequests('forecast', 'london', { sinceMs: now - 60_000, limit: 2 }))
        captured.push(r.body.toString());
      assert.deepEqual(captured, ['{"i":2}', '{"i":1}'], 'the newest, at most the limit');
    } finally {
      await platform.retireCandidates('forecast');
      await platform.close();
      rmSync(pipelineDir, { recursive: true, force: true });
    }
  });
});

/** The serving contract at its smallest: GET /ping answers 200, POST /invocations echoes the body. */
const SERVE_PY = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = b'{"echo": ' + body + b'}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
`;
