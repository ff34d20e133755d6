/** Moving folders between moto's S3 and the disk the way SageMaker's File mode does. */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export function parseS3(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`${uri} is not an s3://bucket/key URI`);
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * Every object under an S3 prefix, written below `dir` by its key relative to the prefix's folder (as
 * an S3Prefix data source lands: `s3://b/run/code.tar.gz` gives `dir/code.tar.gz`). Returns the count.
 */
export async function downloadPrefix(s3: S3Client, uri: string, dir: string): Promise<number> {
  const { bucket, key: prefix } = parseS3(uri);
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key || object.Key.endsWith('/')) continue;
      const file = join(dir, object.Key.slice(base.length));
      await mkdir(dirname(file), { recursive: true });
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      await writeFile(file, await body.Body!.transformToByteArray());
      count++;
    }
    token = page.NextContinuationToken;
  } while (token);
  return count;
}

/** Every file below `dir` to `<uri>/<relative path>`. */
export async function uploadDir(s3: S3Client, dir: string, uri: string): Promise<void> {
  const { bucket, key } = parseS3(uri);
  const prefix = key.replace(/\/+$/, '');
  for (const file of await filesBelow(dir)) {
    const rel = relative(dir, file).split('\\').join('/');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: prefix ? `${prefix}/${rel}` : rel, Body: await readFile(file) }));
  }
}

export async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
