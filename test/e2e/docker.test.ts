/**
 * The docker side against the real engine: `mlp run --docker` runs a step in a container with
 * SageMaker's paths, and a pipeline with `backend: docker` serves its model from a container.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { TEST_IMAGE } from '../helpers/services.js';

/** SageMaker runs `docker run IMAGE serve`; this image's `serve` runs the configured command. */
const DOCKERFILE = `FROM ${TEST_IMAGE}
COPY serve-entry /usr/local/bin/serve
`;
const SERVE_ENTRY = '#!/bin/sh\ncd /opt/ml/code && exec /bin/sh -c "$MLP_SERVE_COMMAND"\n';

describe('docker', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('mlp run --docker runs the step in the image with the SageMaker paths and versions the model', async () => {
    const repo = pipelineRepo({
      cities: ['lima'],
      pipelineYaml: `pipeline:\n  name: forecast\n  image: ${TEST_IMAGE}\n  groups:\n    generate: true\n    source: warehouse.cities\n`,
    });
    const r = await runCli('mlp', ['run', 'train', '--docker'], {
      cwd: join(repo, 'forecast'),
      env: { MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const env = JSON.parse(/env (.*)/.exec(r.stdout)![1]!) as Record<string, string>;
    assert.equal(env.MLP_MODEL_DIR, '/opt/ml/model');
    assert.equal(env.SM_MODEL_DIR, '/opt/ml/model');
    assert.equal(env.MLP_INPUT_DIR, '/opt/ml/input/data');
    assert.equal(env.MLP_OUTPUT_DIR, '/opt/ml/output/data');
    assert.equal(env.MLP_GROUP, 'lima');
    assert.match(r.stderr, /lima: model version v1/);
  });

  it('serves a model from a container when the backend is docker', async () => {
    const repo = pipelineRepo({
      cities: ['lima'],
      pipelineYaml: `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  serve:
    startup_timeout_seconds: 60
  deployment:
    backend: docker
`,
      extra: { 'forecast/Dockerfile': DOCKERFILE, 'forecast/serve-entry': SERVE_ENTRY },
    });
    const { chmodSync } = await import('node:fs');
    chmodSync(join(repo, 'forecast/serve-entry'), 0o755);
    d = await startTestDaemon({ repo });
    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env: d.clientEnv() })).code, 0);
    await eventually(
      async () => {
        const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env: d!.clientEnv() })).stdout) as {
          pipelines: { variants: { state: string; backend: string }[] }[];
        };
        const v = s.pipelines[0]!.variants[0];
        return v?.state === 'live' && v.backend === 'docker' ? v : undefined;
      },
      150_000,
      'the container to serve',
    );
    const inv = await runCli('mlp', ['invoke', 'forecast', '--data', '{"x": 4}'], { env: d.clientEnv() });
    assert.equal(inv.code, 0, inv.stderr);
    assert.deepEqual(JSON.parse(inv.stdout), { y: 4, group: 'lima', model: 'v1' });
    // This image carries no code: it serves here from the mounted pipeline folder, and the log says SageMaker could not run it.
    const log = await runCli('mlp', ['tail', 'forecast'], { env: d.clientEnv() });
    assert.match(
      log.stdout,
      /warn: lima\/v1: image mlp\/forecast:latest has no \/opt\/ml\/code: mlpd mounts the pipeline folder there, but SageMaker mounts nothing/,
    );
  });
});
