/**
 * Data Capture as SageMaker writes it: one JSON Lines record per sampled invocation, written in batches
 * to `<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<mm-ss-SSS>-<uuid>.jsonl` (UTC).
 * Bodies are stored as text when their content type is declared CSV or JSON in CaptureContentTypeHeader,
 * else base64 (as SageMaker does when no header is declared).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3 } from './s3Files.js';

export interface DataCaptureConfig {
  EnableCapture?: boolean;
  InitialSamplingPercentage?: number;
  DestinationS3Uri?: string;
  CaptureOptions?: { CaptureMode?: string }[];
  CaptureContentTypeHeader?: { CsvContentTypes?: string[]; JsonContentTypes?: string[] };
}

export interface Invocation {
  endpoint: string;
  variant: string;
  at: Date;
  inferenceId?: string;
  input: { contentType: string; body: Buffer };
  output: { contentType: string; body: Buffer };
}

export class CaptureWriter {
  private batches = new Map<string, string[]>();

  constructor(private readonly s3: S3Client) {}

  record(config: DataCaptureConfig | undefined, inv: Invocation): void {
    if (!config?.EnableCapture || !config.DestinationS3Uri) return;
    if (Math.random() * 100 >= (config.InitialSamplingPercentage ?? 100)) return;
    const modes = new Set((config.CaptureOptions ?? []).map((o) => o.CaptureMode?.toLowerCase()));
    const captureData: Record<string, unknown> = {};
    if (modes.has('input')) captureData.endpointInput = encode(config, 'INPUT', inv.input);
    if (modes.has('output')) captureData.endpointOutput = encode(config, 'OUTPUT', inv.output);
    const record = {
      captureData,
      eventMetadata: {
        eventId: crypto.randomUUID(),
        ...(inv.inferenceId ? { inferenceId: inv.inferenceId } : {}),
        inferenceTime: isoSeconds(inv.at),
      },
      eventVersion: '0',
    };
    const key = captureKey(config.DestinationS3Uri, inv);
    const batch = this.batches.get(key) ?? [];
    batch.push(JSON.stringify(record));
    this.batches.set(key, batch);
  }

  /** Forgets what was not written yet. */
  discard(): void {
    this.batches = new Map();
  }

  /** Writes every pending batch as one object each. */
  async flush(): Promise<void> {
    const batches = this.batches;
    this.batches = new Map();
    await Promise.all(
      [...batches].map(([prefix, lines]) => {
        const { bucket, key } = parseS3(`${prefix}/${fileName(new Date())}`);
        return this.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: lines.join('\n') + '\n', ContentType: 'application/jsonl' }),
        );
      }),
    );
  }
}

function encode(config: DataCaptureConfig, mode: 'INPUT' | 'OUTPUT', part: { contentType: string; body: Buffer }) {
  const type = part.contentType.split(';')[0]!.trim();
  const header = config.CaptureContentTypeHeader;
  const encoding = header?.JsonContentTypes?.includes(type) ? 'JSON' : header?.CsvContentTypes?.includes(type) ? 'CSV' : 'BASE64';
  return {
    observedContentType: part.contentType,
    mode,
    data: encoding === 'BASE64' ? part.body.toString('base64') : part.body.toString('utf8'),
    encoding,
  };
}

/** The hour's folder of an invocation's variant: s3://bucket/prefix/endpoint/variant/yyyy/mm/dd/hh */
function captureKey(destination: string, inv: Invocation): string {
  const t = inv.at.toISOString();
  return `${destination.replace(/\/+$/, '')}/${inv.endpoint}/${inv.variant}/${t.slice(0, 4)}/${t.slice(5, 7)}/${t.slice(8, 10)}/${t.slice(11, 13)}`;
}

function fileName(now: Date): string {
  const t = now.toISOString();
  return `${t.slice(14, 16)}-${t.slice(17, 19)}-${t.slice(20, 23)}-${crypto.randomUUID()}.jsonl`;
}

function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
