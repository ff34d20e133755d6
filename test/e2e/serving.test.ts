/**
 * Serving through the daemon, from outside: a deployed version answers through the router with its
 * variant named, requests are captured in Data Capture format, bad requests get documented JSON
 * errors, a killed model server comes back, and a daemon killed with -9 restores its variants.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient, ValidationError } from '@aws-sdk/client-sagemaker-runtime';
import { ROOT, runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { isAlive, pidsWithEnv } from '../helpers/processes.js';
import { PYTHON_VENV } from '../helpers/services.js';

interface VariantJson {
  group: string;
  variant: string;
  role: string;
  weight: number;
  state: string;
  port: number | null;
  restarts: number;
  lastError: string | null;
  metrics: { total: { requests: number } } | null;
}
interface PipelineJson {
  name: string;
  current: { version: string; groups: Record<string, string> } | null;
  variants: VariantJson[];
}

async function pipeline(d: TestDaemon): Promise<PipelineJson> {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const post = (
  d: TestDaemon,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => fetch(d.serveUrl + path, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });

describe('serving through mlpd', () => {
  let d: TestDaemon;
  let repo: string;
  before(async () => {
    repo = pipelineRepo({
      pipelineYaml: `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  serve:
    command: python3 serve.py
    timeout_seconds: 1
    startup_timeout_seconds: 20
`,
    });
    d = await startTestDaemon({ repo });
    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env: d.clientEnv() })).code, 0);
    await eventually(
      async () => {
        const p = await pipeline(d);
        return p.variants.length === 2 && p.variants.every((v) => v.state === 'live' && v.weight === 100) ? p : undefined;
      },
      30_000,
      'both groups to serve v1',
    );
  });
  after(async () => {
    await d?.stop();
  });

  it('answers through the router, names the variant, and captures the request', async () => {
    const r = await runCli('mlp', ['invoke', 'forecast', '--group', 'london', '--data', '{"x": 2}'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { y: 2, group: 'london', model: 'v1' });
    assert.match(r.stderr, /HTTP 200 from v1/);

    const res = await post(d, '/endpoints/forecast/invocations', '{"x": 3}', {
      'content-type': 'application/json',
      'x-mlp-group': 'paris',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-mlp-variant'), 'v1');
    assert.equal(((await res.json()) as { group: string }).group, 'paris');

    const p = await pipeline(d);
    assert.deepEqual(p.current, { version: 'v1', groups: { london: 'v1', paris: 'v1' } });

    const captured = await eventually(
      () => {
        const all = files(join(d.dataDir, 'capture')).flatMap((f) => readFileSync(f, 'utf8').trim().split('\n'));
        return all.length >= 2 ? all.map((l) => JSON.parse(l) as Record<string, any>) : undefined;
      },
      5000,
      'the captured requests',
    );
    const london = captured.find((c) => c.mlp.group === 'london')!;
    assert.deepEqual(Object.keys(london).sort(), ['captureData', 'eventMetadata', 'eventVersion', 'mlp']);
    assert.equal(london.captureData.endpointInput.data, '{"x": 2}');
    assert.equal(london.captureData.endpointInput.encoding, 'JSON');
    assert.equal(london.captureData.endpointOutput.mode, 'OUTPUT');
    assert.match(london.eventMetadata.inferenceTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(london.mlp.variant, 'v1');
    assert.equal(london.mlp.status, 200);
  });

  it('answers InvokeEndpoint from the AWS SDK and boto3, as on SageMaker: TargetModel picks the group, the inference id reaches the capture', async () => {
    const sdk = new SageMakerRuntimeClient({
      endpoint: d.serveUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    try {
      const res = await sdk.send(
        new InvokeEndpointCommand({
          EndpointName: 'forecast',
          TargetModel: 'paris.tar.gz',
          Body: '{"x": 4}',
          ContentType: 'application/json',
          InferenceId: 'e2e-sdk-1',
        }),
      );
      assert.equal(res.InvokedProductionVariant, 'v1');
      assert.deepEqual(JSON.parse(Buffer.from(res.Body!).toString()), { y: 4, group: 'paris', model: 'v1' });
      const failed = await sdk
        .send(new InvokeEndpointCommand({ EndpointName: 'forecast--london', Body: '{"fail": true}', ContentType: 'application/json' }))
        .catch((e: unknown) => e);
      assert.ok(failed instanceof ModelError, String(failed));
      assert.equal(failed.OriginalStatusCode, 500);
      const unknown = await sdk.send(new InvokeEndpointCommand({ EndpointName: 'forecast--tokyo', Body: '{}' })).catch((e: unknown) => e);
      assert.ok(unknown instanceof ValidationError, String(unknown));
    } finally {
      sdk.destroy();
    }
    const boto3 = spawn(PYTHON_VENV, [join(ROOT, 'test/daemon/serving/boto3_invoke.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    boto3.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    boto3.stdin.end(
      JSON.stringify({
        endpoint_url: d.serveUrl,
        calls: [{ EndpointName: 'forecast--london', Body: '{"x": 5}', ContentType: 'application/json', InferenceId: 'e2e-boto3-1' }],
      }),
    );
    assert.equal(await new Promise((resolve) => boto3.on('close', resolve)), 0);
    const [answer] = JSON.parse(out) as { ok: { Body: string; InvokedProductionVariant: string } }[];
    assert.equal(answer!.ok.InvokedProductionVariant, 'v1');
    assert.deepEqual(JSON.parse(answer!.ok.Body), { y: 5, group: 'london', model: 'v1' });

    const captured = await eventually(
      () => {
        const all = files(join(d.dataDir, 'capture')).flatMap((f) =>
          readFileSync(f, 'utf8')
            .trim()
            .split('\n')
            .map((l) => ({ file: f, record: JSON.parse(l) as Record<string, any> })),
        );
        const ids = ['e2e-sdk-1', 'e2e-boto3-1'].map((id) => all.find((c) => c.record.eventMetadata.inferenceId === id));
        return ids.every(Boolean) ? ids : undefined;
      },
      5000,
      'the SageMaker-form requests in the capture',
    );
    assert.match(captured[0]!.file, /capture\/forecast--paris\/v1\//);
    assert.match(captured[1]!.file, /capture\/forecast--london\/v1\//);
  });

  it('answers bad requests with the documented status and a JSON error, and stays up', async () => {
    const expectError = async (res: Response, status: number, pattern: RegExp) => {
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: string }).error, pattern);
    };
    await expectError(await post(d, '/endpoints/nope/invocations', '{}'), 404, /nope/);
    await expectError(await post(d, '/endpoints/forecast/groups/tokyo/invocations', '{}'), 404, /tokyo/);
    await expectError(await post(d, '/endpoints/forecast/invocations', '{}'), 400, /london|group/);
    await expectError(await post(d, '/endpoints/forecast/groups/london/invocations', Buffer.alloc(7 * 1024 * 1024, 'a')), 413, /.+/);
    await expectError(await post(d, '/endpoints/forecast/groups/london/invocations', 'not json {'), 400, /JSON/);
    await expectError(await post(d, '/endpoints/forecast/groups/london/invocations', '{"sleep": 3}'), 504, /.+/);
    const failing = await post(d, '/endpoints/forecast/groups/london/invocations', '{"fail": true}');
    assert.equal(failing.status, 500);
    assert.equal(((await failing.json()) as { error: string }).error, 'model exploded');
    const ok = await post(d, '/endpoints/forecast/groups/london/invocations', '{"x": 1}');
    assert.equal(ok.status, 200);
    assert.equal((await fetch(d.apiUrl.replace('ws:', 'http:') + '/healthz')).status, 200);
    const p = await pipeline(d);
    const london = p.variants.find((v) => v.group === 'london')!;
    assert.ok(london.metrics && london.metrics.total.requests >= 4);
  });

  it('restarts a model server killed with SIGKILL, and says so', async () => {
    const before = (await pipeline(d)).variants.find((v) => v.group === 'paris')!;
    const pids = pidsWithEnv({ PORT: String(before.port), MLP_GROUP: 'paris' });
    assert.ok(pids.length > 0, 'found the paris model server');
    for (const pid of pids) process.kill(pid, 'SIGKILL');

    const back = await eventually(
      async () => {
        const v = (await pipeline(d)).variants.find((x) => x.group === 'paris')!;
        return v.state === 'live' && v.restarts >= 1 ? v : undefined;
      },
      20_000,
      'the paris server to be restarted',
    );
    assert.match(back.lastError ?? '', /exited|killed|SIGKILL/);
    const res = await post(d, '/endpoints/forecast/groups/paris/invocations', '{"x": 5}');
    assert.equal(res.status, 200);
    const tail = await runCli('mlp', ['tail', 'forecast'], { env: d.clientEnv() });
    assert.match(tail.stdout, /paris\/v1: the model server exited .*; restarting/);
    assert.match(tail.stdout, /paris\/v1 is live on port \d+ \(restart 1\)/);
  });

  it('restores its variants after kill -9, and reaps the servers the dead daemon left', async () => {
    const old = (await pipeline(d)).variants.map((v) => pidsWithEnv({ PORT: String(v.port), MLP_GROUP: v.group })).flat();
    assert.ok(old.length >= 2);
    await d.stop('SIGKILL');
    d = await startTestDaemon({ repo, dataDir: d.dataDir });
    await eventually(
      async () => {
        const p = await pipeline(d);
        return p.variants.length === 2 && p.variants.every((v) => v.state === 'live') ? p : undefined;
      },
      30_000,
      'the variants to be live again',
    );
    const res = await post(d, '/endpoints/forecast/groups/london/invocations', '{"x": 7}');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-mlp-variant'), 'v1');
    await eventually(() => (old.every((pid) => !isAlive(pid)) ? true : undefined), 10_000, 'the old servers to be gone');
  });
});
