/** Moving files between this machine and S3: whole folders up, single objects and prefixes down. */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type BucketLocationConstraint,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AwsClients } from './clients.js';
import { awsCall } from './errors.js';

/** How many objects move at the same time. */
const PARALLEL = 8;

export interface S3Location {
  bucket: string;
  key: string;
}

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not an S3 URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

/** Files up to this size are sent from memory: the SDK retries those, but never a streamed body. */
const IN_MEMORY_MAX = 8 * 1024 * 1024;

/**
 * Makes sure the artifacts bucket exists, creating it when it does not (as the SageMaker Python SDK
 * does with its default bucket). Returns true when it created it. Access denied and other errors are
 * left to the caller's message.
 */
export async function ensureBucket(aws: AwsClients, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await aws.s3.send(new HeadBucketCommand({ Bucket: bucket }), signal ? { abortSignal: signal } : {});
    return false;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name !== 'NotFound' && e.name !== 'NoSuchBucket' && e.$metadata?.httpStatusCode !== 404) return false;
  }
  const region = aws.region;
  await awsCall(
    aws,
    's3',
    'CreateBucket',
    () =>
      aws.s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(region && region !== 'us-east-1'
            ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }
            : {}),
        }),
        signal ? { abortSignal: signal } : {},
      ),
    signal,
  );
  return true;
}

export async function uploadFile(aws: AwsClients, file: string, to: S3Location, signal?: AbortSignal): Promise<void> {
  const put = (Body: PutObjectCommandInput['Body'], ContentLength: number) =>
    awsCall(
      aws,
      's3',
      'PutObject',
      () =>
        aws.s3.send(new PutObjectCommand({ Bucket: to.bucket, Key: to.key, Body, ContentLength }), signal ? { abortSignal: signal } : {}),
      signal,
    );
  const size = statSync(file).size;
  if (size <= IN_MEMORY_MAX) return void (await put(readFileSync(file), size));
  // PutObject takes up to 5 GB; the handle is ours to close, also when the call fails before reading it.
  const handle = await open(file);
  try {
    await put(handle.createReadStream({ autoClose: false }), size);
  } finally {
    await handle.close();
  }
}

/** Uploads every file under `dir` (following symlinks) below `prefix/`; returns how many. */
export async function uploadDir(aws: AwsClients, dir: string, to: S3Location, signal?: AbortSignal): Promise<number> {
  const files = listFiles(dir);
  await inParallel(files, (rel) =>
    uploadFile(aws, join(dir, rel), { bucket: to.bucket, key: `${to.key}/${rel.split(sep).join('/')}` }, signal),
  );
  return files.length;
}

/** Downloads one object to `file`; false when there is no such object. */
export async function downloadFile(aws: AwsClients, from: S3Location, file: string, signal?: AbortSignal): Promise<boolean> {
  const res = await awsCall(
    aws,
    's3',
    'GetObject',
    async () => {
      try {
        return await aws.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: from.key }), signal ? { abortSignal: signal } : {});
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    signal,
  );
  if (!res) return false;
  mkdirSync(dirname(file), { recursive: true });
  await pipeline(res.Body as Readable, createWriteStream(file));
  return true;
}

/** Downloads every object below `prefix/` into `dir`, keeping the relative paths; returns how many. */
export async function downloadPrefix(aws: AwsClients, from: S3Location, dir: string, signal?: AbortSignal): Promise<number> {
  const prefix = from.key.endsWith('/') ? from.key : `${from.key}/`;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(
      aws,
      's3',
      'ListObjectsV2',
      () =>
        aws.s3.send(
          new ListObjectsV2Command({ Bucket: from.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
          signal ? { abortSignal: signal } : {},
        ),
      signal,
    );
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const root = resolve(dir);
  await inParallel(keys, async (key) => {
    const target = resolve(root, key.slice(prefix.length));
    // A key like `a/../../x` must not write outside the folder.
    if (target !== root && !target.startsWith(root + sep)) return;
    await downloadFile(aws, { bucket: from.bucket, key }, target, signal);
  });
  return keys.length;
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...listFiles(path, base));
    else if (st.isFile()) out.push(relative(base, path));
  }
  return out;
}

async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}
