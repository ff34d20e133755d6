/**
 * InvokeEndpoint at the router through the real SageMaker runtime clients, boto3 (from the test
 * venv) and @aws-sdk/client-sagemaker-runtime, pointed at the router with dummy credentials, as
 * application code calls a model: answers, variants, errors, capture.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
  type InvokeEndpointCommandInput,
} from '@aws-sdk/client-sagemaker-runtime';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { PYTHON_VENV } from '../../helpers/services.js';
import { Observed, route, startModel, TestRouteTable, type ModelProcess } from './router-helpers.js';

const TOKEN = 'serve-7f3a9c0e5b1d4e2f';

interface Boto3Result {
  ok?: { Body: string; ContentType?: string; InvokedProductionVariant?: string; CustomAttributes?: string };
  error?: { class: string; code: string; message: string; status: number; originalStatusCode?: number; originalMessage?: string };
}

/** Runs the calls through boto3's client in one Python process (asynchronously: the router runs in this process). */
async function boto3Invoke(port: number, calls: Record<string, unknown>[], accessKey = 'testing'): Promise<Boto3Result[]> {
  const child = spawn(PYTHON_VENV, [join(import.meta.dirname, 'boto3_invoke.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(JSON.stringify({ endpoint_url: `http://127.0.0.1:${port}`, access_key: accessKey, calls }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Boto3Result[];
}

const echoed = (body: string) => JSON.parse(body) as { variant: string; body: string; headers: Record<string, string> };

describe('router, SageMaker runtime protocol (InvokeEndpoint through the AWS SDKs)', () => {
  let london: ModelProcess;
  let londonNext: ModelProcess;
  let paris: ModelProcess;
  let router: Router;
  let guarded: Router;
  let observed: Observed;
  let sdk: SageMakerRuntimeClient;

  before(async () => {
    [london, londonNext, paris] = await Promise.all([startModel('london-v1'), startModel('london-v2'), startModel('paris-v7')]);
    const table = new TestRouteTable([
      route('demand-forecast', 'london', [london.target('v1', 'current', 100), londonNext.target('v2', 'candidate', 0)]),
      route('demand-forecast', 'paris', [paris.target('v7', 'current', 100)], { timeoutMs: 500 }),
      route('demand-forecast', 'berlin', []),
    ]);
    observed = new Observed();
    router = await startRouter({ host: '127.0.0.1', port: 0, table, capture: observed.capture, metrics: observed.sink });
    guarded = await startRouter({ host: '127.0.0.1', port: 0, table, token: TOKEN });
    sdk = client(router.port, 'testing');
  });

  after(async () => {
    sdk.destroy();
    await Promise.all([router.close(), guarded.close()]);
    await Promise.all([london.stop(), londonNext.stop(), paris.stop()]);
  });

  function client(port: number, accessKeyId: string): SageMakerRuntimeClient {
    return new SageMakerRuntimeClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
  }
  const invoke = (input: Omit<InvokeEndpointCommandInput, 'Body'> & { Body: string }, c = sdk) => c.send(new InvokeEndpointCommand(input));
  const failure = async (input: Omit<InvokeEndpointCommandInput, 'Body'> & { Body: string }, c = sdk) => {
    try {
      await invoke(input, c);
    } catch (err) {
      return err as Error & { $metadata: { httpStatusCode: number }; OriginalStatusCode?: number; OriginalMessage?: string };
    }
    assert.fail('the call succeeded');
  };

  it('answers the JS SDK: the group chosen by TargetModel, the invoked variant, custom attributes, the inference id in capture', async () => {
    const res = await invoke({
      EndpointName: 'demand-forecast',
      TargetModel: 'london.tar.gz',
      Body: '{"echo":true,"week":12}',
      ContentType: 'application/json',
      Accept: 'application/json',
      CustomAttributes: 'trace=abc',
      InferenceId: 'req-js-1',
    });
    assert.equal(res.$metadata.httpStatusCode, 200);
    assert.equal(res.InvokedProductionVariant, 'v1');
    assert.equal(res.ContentType, 'application/json');
    assert.equal(res.CustomAttributes, 'echo:trace=abc');
    const answer = echoed(Buffer.from(res.Body!).toString());
    assert.equal(answer.variant, 'london-v1');
    assert.equal(Buffer.from(answer.body, 'base64').toString(), '{"echo":true,"week":12}');
    assert.equal(answer.headers['x-amzn-sagemaker-custom-attributes'], 'trace=abc', 'the model gets the custom attributes');
    assert.equal(answer.headers['x-mlp-inference-id'], 'req-js-1');
    const captured = observed.invocations.find((i) => i.inferenceId === 'req-js-1');
    assert.ok(captured, 'the inference id is in the capture');
    assert.deepEqual([captured.pipeline, captured.group, captured.variant, captured.status], ['demand-forecast', 'london', 'v1', 200]);
  });

  it('takes the endpoint name <pipeline>--<group> (any case) and a TargetModel without .tar.gz', async () => {
    const byName = await invoke({ EndpointName: 'demand-forecast--paris', Body: '{"echo":true}', ContentType: 'application/json' });
    assert.equal(byName.InvokedProductionVariant, 'v7');
    assert.equal(echoed(Buffer.from(byName.Body!).toString()).variant, 'paris-v7');
    const upper = await invoke({ EndpointName: 'Demand-Forecast--Paris', Body: '{}', ContentType: 'application/json' });
    assert.equal(upper.InvokedProductionVariant, 'v7');
    const byModel = await invoke({ EndpointName: 'demand-forecast', TargetModel: 'paris', Body: '{}' });
    assert.equal(byModel.InvokedProductionVariant, 'v7');
    const same = await invoke({ EndpointName: 'demand-forecast--paris', TargetModel: 'paris.tar.gz', Body: '{}' });
    assert.equal(same.InvokedProductionVariant, 'v7');
  });

  it('pins a variant with TargetVariant, even one at weight 0, by name or role', async () => {
    for (const TargetVariant of ['v2', 'candidate']) {
      const res = await invoke({
        EndpointName: 'demand-forecast--london',
        TargetVariant,
        Body: '{"echo":true}',
        ContentType: 'application/json',
      });
      assert.equal(res.InvokedProductionVariant, 'v2');
      assert.equal(echoed(Buffer.from(res.Body!).toString()).variant, 'london-v2');
    }
  });

  it('raises ModelError (424) with the model status and message when the model answers non-2xx, or not in time', async () => {
    for (const status of [500, 400]) {
      const err = await failure({
        EndpointName: 'demand-forecast--london',
        Body: JSON.stringify({ status }),
        ContentType: 'application/json',
      });
      assert.ok(err instanceof ModelError, `${err.name}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 424);
      assert.equal(err.OriginalStatusCode, status);
      assert.match(err.OriginalMessage!, /"variant":"london-v1"/);
      assert.match(err.message, new RegExp(`Received (client|server) error \\(${status}\\) from v1 with message`));
    }
    const captured = observed.invocations.filter((i) => i.group === 'london').at(-1)!;
    assert.equal(captured.status, 400, 'capture and metrics record the model status');
    const late = await failure({ EndpointName: 'demand-forecast--paris', Body: '{"sleepMs":1500}', ContentType: 'application/json' });
    assert.ok(late instanceof ModelError, late.name);
    assert.equal(late.OriginalStatusCode, 504);
    assert.match(late.OriginalMessage!, /did not answer within 500 ms/);
  });

  it('raises ValidationError (400) for an unknown endpoint, an unknown group or variant, a group not named, bad JSON, an oversize body', async () => {
    const cases: [Omit<InvokeEndpointCommandInput, 'Body'> & { Body: string }, RegExp][] = [
      [
        { EndpointName: 'nope', Body: '{}' },
        /no endpoint named 'nope': an endpoint is <pipeline> or <pipeline>--<group> \(pipelines: demand-forecast\)/,
      ],
      [
        { EndpointName: 'demand-forecast', TargetModel: 'rome.tar.gz', Body: '{}' },
        /has no group 'rome' \(groups: london, paris, berlin\)/,
      ],
      [{ EndpointName: 'demand-forecast', Body: '{}' }, /has 3 groups .*TargetModel/],
      [
        { EndpointName: 'demand-forecast--london', TargetModel: 'paris', Body: '{}' },
        /endpoint 'demand-forecast--london' is group 'london' .* names group 'paris'/,
      ],
      [{ EndpointName: 'demand-forecast--london', TargetVariant: 'v9', Body: '{}' }, /no live variant 'v9'/],
      [{ EndpointName: 'demand-forecast--london', Body: '{"week":', ContentType: 'application/json' }, /not valid JSON/],
      [
        { EndpointName: 'demand-forecast--london', Body: 'x'.repeat(6 * 1024 * 1024 + 1), ContentType: 'text/csv' },
        /the request body is 6291457 bytes; the limit is 6291456 bytes/,
      ],
    ];
    for (const [input, message] of cases) {
      const err = await failure(input);
      assert.ok(err instanceof ValidationError, `${input.EndpointName}: ${err.name}: ${err.message}`);
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.match(err.message, message);
    }
  });

  it('raises ServiceUnavailable (503) when the group has no live variant', async () => {
    const err = await failure({ EndpointName: 'demand-forecast--berlin', Body: '{}' });
    assert.ok(err instanceof ServiceUnavailable, err.name);
    assert.equal(err.$metadata.httpStatusCode, 503);
    assert.match(err.message, /no live model for demand-forecast\/berlin/);
  });

  it('with a serving token, takes it as the access key id and refuses other credentials', async () => {
    const ok = client(guarded.port, TOKEN);
    const wrong = client(guarded.port, 'AKIAWRONGWRONGWRONG');
    try {
      const res = await invoke({ EndpointName: 'demand-forecast--london', Body: '{"echo":true}', ContentType: 'application/json' }, ok);
      assert.equal(res.InvokedProductionVariant, 'v1');
      assert.equal(
        echoed(Buffer.from(res.Body!).toString()).headers.authorization?.includes(TOKEN),
        undefined,
        'the credentials are not passed on',
      );
      const err = await failure({ EndpointName: 'demand-forecast--london', Body: '{}' }, wrong);
      assert.equal(err.name, 'UnrecognizedClientException');
      assert.equal(err.$metadata.httpStatusCode, 403);
      assert.match(err.message, /the access key id is not the serving token/);
      assert.doesNotMatch(err.message, /london|demand-forecast/);
    } finally {
      ok.destroy();
      wrong.destroy();
    }
  });

  it('answers boto3 the same way', async () => {
    const [answer, pinned, modelFailed, unknown, unavailable, oversize] = (await boto3Invoke(router.port, [
      {
        EndpointName: 'demand-forecast',
        TargetModel: 'london.tar.gz',
        Body: '{"echo":true}',
        ContentType: 'application/json',
        CustomAttributes: 'a=1',
        InferenceId: 'req-py-1',
      },
      { EndpointName: 'demand-forecast--london', TargetVariant: 'v2', Body: '{}', ContentType: 'application/json' },
      { EndpointName: 'demand-forecast--london', Body: '{"status":503}', ContentType: 'application/json' },
      { EndpointName: 'nope', Body: '{}' },
      { EndpointName: 'demand-forecast--berlin', Body: '{}' },
      { EndpointName: 'demand-forecast--london', Body: { repeat: 6 * 1024 * 1024 + 1 }, ContentType: 'text/csv' },
    ])) as [Boto3Result, Boto3Result, Boto3Result, Boto3Result, Boto3Result, Boto3Result];
    assert.equal(answer.ok?.InvokedProductionVariant, 'v1', JSON.stringify(answer));
    assert.equal(answer.ok.ContentType, 'application/json');
    assert.equal(answer.ok.CustomAttributes, 'echo:a=1');
    assert.equal(echoed(answer.ok.Body).variant, 'london-v1');
    assert.ok(
      observed.invocations.some((i) => i.inferenceId === 'req-py-1' && i.group === 'london'),
      'the inference id is in the capture',
    );
    assert.equal(pinned.ok?.InvokedProductionVariant, 'v2', JSON.stringify(pinned));
    assert.equal(modelFailed.error?.class, 'ModelError', JSON.stringify(modelFailed));
    assert.deepEqual([modelFailed.error.status, modelFailed.error.originalStatusCode], [424, 503]);
    assert.match(modelFailed.error.originalMessage!, /model failed/);
    assert.equal(unknown.error?.class, 'ValidationError', JSON.stringify(unknown));
    assert.equal(unknown.error.status, 400);
    assert.match(unknown.error.message, /no endpoint named 'nope'/);
    assert.equal(unavailable.error?.class, 'ServiceUnavailable', JSON.stringify(unavailable));
    assert.equal(oversize.error?.class, 'ValidationError', JSON.stringify(oversize));
    assert.match(oversize.error.message, /the limit is 6291456 bytes/);
  });

  it('takes the serving token from boto3 as the access key id', async () => {
    const [ok] = await boto3Invoke(guarded.port, [{ EndpointName: 'demand-forecast--london', Body: '{}' }], TOKEN);
    const [refused] = await boto3Invoke(guarded.port, [{ EndpointName: 'demand-forecast--london', Body: '{}' }]);
    assert.equal(ok?.ok?.InvokedProductionVariant, 'v1', JSON.stringify(ok));
    assert.equal(refused?.error?.code, 'UnrecognizedClientException', JSON.stringify(refused));
  });
});
