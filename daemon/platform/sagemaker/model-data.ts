/**
 * A model version's `model.tar.gz` in S3, what a SageMaker Model's ModelDataUrl points at. A version trained with
 * `--cloud` already has one (the training job's own artifact, recorded as the version's artifact URI) and is used
 * as it is. Any other version is its folder in the local artifact store, packed and uploaded once: the key is the
 * SHA-256 of the folder's contents, `s3://<bucket>/mlp/<pipeline>/models/<sha256>/model.tar.gz`, and an object
 * already there is not uploaded again (HeadObject first).
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { AwsClients } from '../../aws/clients.js';
import { awsCall } from '../../aws/errors.js';
import { s3Uri, uploadFile } from '../../aws/s3.js';
import { pack } from '../../executors/tarball.js';

/** The S3 key prefix under which packed local versions go. */
const modelsPrefix = (pipeline: string) => `mlp/${pipeline}/models/`;

export interface ModelDataDeps {
  aws: AwsClients;
  bucket: string;
}

/**
 * The ModelDataUrl of a version whose artifact is `artifactUri` (an S3 URI of a model.tar.gz, or the local folder)
 * and whose local copy is `localDir`.
 */
export async function modelDataUrl(deps: ModelDataDeps, pipeline: string, artifactUri: string, localDir: string): Promise<string> {
  if (/^s3:\/\/.+\.tar\.gz$/.test(artifactUri)) return artifactUri;
  const key = `${modelsPrefix(pipeline)}${folderDigest(localDir)}/model.tar.gz`;
  if (!(await exists(deps, key))) {
    const work = mkdtempSync(join(tmpdir(), 'mlp-model-'));
    try {
      const file = join(work, 'model.tar.gz');
      await pack(localDir, file, []);
      await uploadFile(deps.aws, file, { bucket: deps.bucket, key });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return s3Uri(deps.bucket, key);
}

async function exists({ aws, bucket }: ModelDataDeps, key: string): Promise<boolean> {
  return awsCall(aws, 's3', 'HeadObject', async () => {
    try {
      await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  });
}

/**
 * SHA-256 over every file's relative path and bytes, in path order: the same model gives the same digest on any
 * machine and at any time (a tarball's bytes would not: it records modification times).
 */
export function folderDigest(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    const bytes = readFileSync(file);
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...filesUnder(path));
    else if (st.isFile()) out.push(path);
  }
  return out;
}
