// The stand-in's Data Capture writer against moto's S3: encodings, capture modes, sampling, batching.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../helpers/moto.js';
import { CaptureWriter, type DataCaptureConfig, type Invocation } from './capture.js';

let moto: Moto;
let s3: S3Client;

before(async () => {
  moto = await startMoto();
  s3 = new S3Client({
    endpoint: moto.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'capture' }));
});

after(() => moto?.stop());

const at = new Date('2026-11-20T23:33:12.345Z');
const invocation = (variant: string, contentType: string, input: string): Invocation => ({
  endpoint: 'demand',
  variant,
  at,
  input: { contentType, body: Buffer.from(input) },
  output: { contentType: 'text/csv', body: Buffer.from('412.5') },
});

async function records(prefix: string) {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'capture', Prefix: prefix }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  const texts = await Promise.all(
    keys.map(async (Key) => (await s3.send(new GetObjectCommand({ Bucket: 'capture', Key }))).Body!.transformToString()),
  );
  return { keys, records: texts.flatMap((t) => t.trim().split('\n')).map((l) => JSON.parse(l)) };
}

test('bodies are text for declared JSON/CSV content types, base64 otherwise; one object per variant and hour per flush', async () => {
  const writer = new CaptureWriter(s3);
  const config: DataCaptureConfig = {
    EnableCapture: true,
    InitialSamplingPercentage: 100,
    DestinationS3Uri: 's3://capture/mlp/demand/capture/',
    CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
    CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'], JsonContentTypes: ['application/json'] },
  };
  writer.record(config, invocation('primary', 'application/json', '{"x":1}'));
  writer.record(config, invocation('primary', 'application/x-npy', 'raw'));
  writer.record(config, invocation('candidate', 'text/csv; charset=utf-8', '1,2'));
  await writer.flush();

  const primary = await records('mlp/demand/capture/demand/primary/2026/11/20/23/');
  assert.equal(primary.keys.length, 1);
  assert.match(primary.keys[0]!, /\/23\/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$/);
  assert.deepEqual(
    primary.records.map((r) => r.captureData.endpointInput),
    [
      { observedContentType: 'application/json', mode: 'INPUT', data: '{"x":1}', encoding: 'JSON' },
      { observedContentType: 'application/x-npy', mode: 'INPUT', data: Buffer.from('raw').toString('base64'), encoding: 'BASE64' },
    ],
  );
  assert.deepEqual(primary.records[0].captureData.endpointOutput, {
    observedContentType: 'text/csv',
    mode: 'OUTPUT',
    data: '412.5',
    encoding: 'CSV',
  });
  assert.equal(primary.records[0].eventMetadata.inferenceTime, '2026-11-20T23:33:12Z');

  const candidate = await records('mlp/demand/capture/demand/candidate/');
  assert.equal(candidate.records[0].captureData.endpointInput.encoding, 'CSV');
});

test('without a CaptureContentTypeHeader everything is base64; Input-only capture has no output; 0% samples nothing', async () => {
  const writer = new CaptureWriter(s3);
  writer.record(
    {
      EnableCapture: true,
      InitialSamplingPercentage: 100,
      DestinationS3Uri: 's3://capture/plain',
      CaptureOptions: [{ CaptureMode: 'Input' }],
    },
    invocation('v', 'application/json', '{"x":2}'),
  );
  writer.record(
    {
      EnableCapture: true,
      InitialSamplingPercentage: 0,
      DestinationS3Uri: 's3://capture/none',
      CaptureOptions: [{ CaptureMode: 'Input' }],
    },
    invocation('v', 'application/json', '{}'),
  );
  writer.record({ EnableCapture: false, DestinationS3Uri: 's3://capture/off' }, invocation('v', 'application/json', '{}'));
  await writer.flush();

  const plain = await records('plain/');
  assert.deepEqual(plain.records[0].captureData, {
    endpointInput: {
      observedContentType: 'application/json',
      mode: 'INPUT',
      data: Buffer.from('{"x":2}').toString('base64'),
      encoding: 'BASE64',
    },
  });
  assert.equal((await records('none/')).keys.length, 0);
  assert.equal((await records('off/')).keys.length, 0);
});
