/**
 * Replay's captured traffic on SageMaker: the endpoint's Data Capture JSON Lines in S3,
 * `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-SSS>-<uuid>.jsonl`, read back newest first into the
 * same CapturedRequest as mlp's own capture (the same record parser). SageMaker captures only invocations that
 * succeeded, so every record is a request that worked: its status is 200. Requests replay itself sent (their
 * InferenceId starts with REPLAY_INFERENCE_PREFIX) are not live traffic and are skipped.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { AwsClients } from '../../aws/clients.js';
import { awsCall } from '../../aws/errors.js';
import { parseCaptureLine, type CapturedRequest } from '../../serving/capture/format.js';

/** The InferenceId prefix of the requests replay sends (model-client.ts). */
export const REPLAY_INFERENCE_PREFIX = 'mlp-replay-';

const DAY = 86_400_000;

export interface CaptureLocation {
  bucket: string;
  /** The key prefix of the endpoint's records, ending in `/`: `mlp/<pipeline>/capture/<endpoint>/`. */
  prefix: string;
}

/** The endpoint's captured requests at or after `sinceMs`, newest first, at most `limit`. */
export async function* readS3Capture(
  aws: AwsClients,
  where: CaptureLocation,
  sinceMs: number,
  limit: number,
  now = Date.now(),
): AsyncGenerator<CapturedRequest> {
  if (limit <= 0) return;
  const variants = await listPrefixes(aws, where.bucket, where.prefix);
  let remaining = limit;
  // A day at a time, newest first: a 30-day window of a busy endpoint is never listed at once.
  for (let day = startOfDay(now); day + DAY > sinceMs && remaining > 0; day -= DAY) {
    const files: { key: string; variant: string }[] = [];
    for (const variant of variants) {
      for (const key of await listKeys(aws, where.bucket, `${where.prefix}${variant}/${dayPath(day)}`)) {
        if (key.endsWith('.jsonl')) files.push({ key, variant });
      }
    }
    // The key's hour, minute and second are when SageMaker wrote the file: later keys hold later requests.
    files.sort((a, b) => fileTime(b.key).localeCompare(fileTime(a.key)));
    const found: CapturedRequest[] = [];
    // Once enough requests are in hand, the rest of that hour's files are still read (a file holds the requests
    // of the minutes before it was written, so neighbours overlap); older hours are not.
    let enoughAt: string | null = null;
    for (const f of files) {
      const hour = fileTime(f.key).slice(0, 2);
      if (enoughAt !== null && hour !== enoughAt) break;
      for (const line of (await readObject(aws, where.bucket, f.key)).split('\n')) {
        if (!line.trim()) continue;
        const r = parseCaptureLine(line, f.variant);
        if (!r || r.at < sinceMs || r.inferenceId?.startsWith(REPLAY_INFERENCE_PREFIX)) continue;
        found.push(r.source === 'sagemaker' && r.status === null ? { ...r, status: 200 } : r);
      }
      if (enoughAt === null && found.length >= remaining) enoughAt = hour;
    }
    for (const r of found.sort((a, b) => b.at - a.at).slice(0, remaining)) {
      yield r;
      remaining--;
    }
  }
}

const startOfDay = (ms: number) => Math.floor(ms / DAY) * DAY;

function dayPath(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/`;
}

/** `hh/mm-ss-SSS...` of a key, which sorts as time within its day. */
const fileTime = (key: string) => key.split('/').slice(-2).join('/');

async function listPrefixes(aws: AwsClients, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(aws, 's3', 'ListObjectsV2', () =>
      aws.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      ),
    );
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function listKeys(aws: AwsClients, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(aws, 's3', 'ListObjectsV2', () =>
      aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })),
    );
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function readObject(aws: AwsClients, bucket: string, key: string): Promise<string> {
  const res = await awsCall(aws, 's3', 'GetObject', () => aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  return (await res.Body?.transformToString('utf8')) ?? '';
}
