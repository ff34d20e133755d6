// The SageMaker platform's data against moto: a local version's model.tar.gz uploaded once by content, a --cloud
// artifact used as it is, the serving container, and Data Capture read back from S3 newest first.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients, type AwsClients } from '../../../daemon/aws/clients.js';
import { readS3Capture, REPLAY_INFERENCE_PREFIX } from '../../../daemon/platform/sagemaker/capture.js';
import { folderDigest, modelDataUrl } from '../../../daemon/platform/sagemaker/model-data.js';
import { servingContainer } from '../../../daemon/platform/sagemaker/serving-container.js';
import { parsePipelineConfig } from '../../../shared/config/load.js';
import { startMoto, type Moto } from '../../helpers/moto.js';

const BUCKET = 'team-mlp';
const pipelineConfig = (yaml: string) => parsePipelineConfig(yaml, 'pipeline.yaml').config!;

describe('SageMaker model data and capture', () => {
  let moto: Moto;
  let aws: AwsClients;
  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env); // credentials come from the SDK's default chain
    aws = createAwsClients({ env: moto.env, maxAttempts: 1 });
  });
  beforeEach(async () => {
    await moto.reset();
    await aws.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => moto?.stop());

  const keys = async (prefix: string) =>
    ((await aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);

  it('uploads a local version once, keyed by the SHA-256 of its contents; a --cloud artifact is used as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-model-'));
    writeFileSync(join(dir, 'model.json'), '{"scale": 2}');
    const url = await modelDataUrl({ aws, bucket: BUCKET }, 'shop', dir, dir);
    assert.equal(url, `s3://${BUCKET}/mlp/shop/models/${folderDigest(dir)}/model.tar.gz`);
    const copy = mkdtempSync(join(tmpdir(), 'mlp-model-'));
    writeFileSync(join(copy, 'model.json'), '{"scale": 2}');
    assert.equal(
      await modelDataUrl({ aws, bucket: BUCKET }, 'shop', copy, copy),
      url,
      'the same contents elsewhere, later: the same object',
    );
    assert.deepEqual(await keys('mlp/shop/models/'), [url.slice(`s3://${BUCKET}/`.length)]);
    writeFileSync(join(copy, 'model.json'), '{"scale": 3}');
    assert.notEqual(await modelDataUrl({ aws, bucket: BUCKET }, 'shop', copy, copy), url);

    const trained = `s3://${BUCKET}/mlp/shop/runs/r-1/default/train/output/job/output/model.tar.gz`;
    assert.equal(await modelDataUrl({ aws, bucket: BUCKET }, 'shop', trained, dir), trained);
    assert.equal((await keys('mlp/shop/models/')).length, 2);
  });

  it('gives the container the pipeline image and the serving environment, and names what is missing without an image', () => {
    const config = pipelineConfig('pipeline:\n  name: shop\n  image: shop:1\n  serve:\n    command: python3 serve.py --fast\n');
    assert.deepEqual(servingContainer(config, 'london', 3), {
      Image: 'shop:1',
      Environment: {
        MLP_SERVE_COMMAND: 'python3 serve.py --fast',
        MLP_MODEL_DIR: '/opt/ml/model',
        SM_MODEL_DIR: '/opt/ml/model',
        MLP_PIPELINE: 'shop',
        MLP_GROUP: 'london',
        MLP_VARIANT: 'v3',
      },
    });
    assert.throws(
      () => servingContainer(pipelineConfig('pipeline:\n  name: shop\n'), 'london', 3),
      /deployment\.backend: sagemaker needs `image:` in shop's pipeline\.yaml/,
    );
  });

  it("reads Data Capture back newest first across variants, as requests that worked, without replay's own", async () => {
    const prefix = 'mlp/shop/capture/mlp-shop-default-1234abcd/';
    const now = Date.parse('2026-12-02T10:30:00Z');
    const record = (x: number, at: number, inferenceId = `req-${x}`) =>
      JSON.stringify({
        captureData: {
          endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify({ x }), encoding: 'JSON' },
          endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify({ y: 2 * x }), encoding: 'JSON' },
        },
        eventMetadata: { eventId: `e-${x}`, inferenceId, inferenceTime: new Date(at).toISOString().slice(0, 19) + 'Z' },
        eventVersion: '0',
      });
    const put = (key: string, lines: string[]) =>
      aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: prefix + key, Body: lines.join('\n') + '\n' }));
    await put('v1/2026/12/01/09/10-00-000-a.jsonl', [record(1, now - 86_400_000 - 3_600_000)]);
    await put('v1/2026/12/02/09/10-00-000-b.jsonl', [record(2, now - 3_600_000), record(3, now - 3_500_000)]);
    await put('v2/2026/12/02/10/20-00-000-c.jsonl', [record(4, now - 600_000), record(5, now - 500_000, `${REPLAY_INFERENCE_PREFIX}x`)]);

    const read = async (sinceMs: number, limit: number) => {
      const out = [];
      for await (const r of readS3Capture(aws, { bucket: BUCKET, prefix }, sinceMs, limit, now)) out.push(r);
      return out;
    };
    const all = await read(now - 7 * 86_400_000, 100);
    assert.deepEqual(
      all.map((r) => JSON.parse(r.body.toString()).x),
      [4, 3, 2, 1],
    );
    assert.deepEqual(
      all.map((r) => r.variant),
      ['v2', 'v1', 'v1', 'v1'],
    );
    assert.ok(all.every((r) => r.status === 200 && r.source === 'sagemaker'));
    assert.deepEqual(JSON.parse(all[0]!.response!.body.toString()), { y: 8 });
    assert.deepEqual(
      (await read(now - 7 * 86_400_000, 2)).map((r) => JSON.parse(r.body.toString()).x),
      [4, 3],
    );
    assert.deepEqual(
      (await read(now - 2 * 3_600_000, 100)).map((r) => JSON.parse(r.body.toString()).x),
      [4, 3, 2],
    );
  });
});
