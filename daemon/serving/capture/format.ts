/**
 * One Data Capture record: a line of SageMaker Data Capture JSON Lines (reference/sagemaker.md), with
 * mlp's own facts under a separate top-level key `mlp` that SageMaker's readers ignore:
 *
 *   {"captureData":{"endpointInput":{...},"endpointOutput":{...}},"eventMetadata":{...},"eventVersion":"0",
 *    "mlp":{"pipeline":"demand-forecast","group":"london","variant":"v3","status":200,"latencyMs":3.2,"at":1763681592123}}
 *
 * Writing is on the serving path's budget, so a line is built straight into a byte buffer, not by JSON.stringify of an object.
 */
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import type { Invocation } from '../types.js';

export type CaptureEncoding = 'JSON' | 'CSV' | 'BASE64';

/** The key of mlp's own fields in a record. */
export const MLP_KEY = 'mlp';

/**
 * How a body with this declared content type is captured: JSON for `application/json`, any `+json` suffix,
 * `text/json` and the JSON Lines types; CSV for `text/csv` and `application/csv`; BASE64 for everything else
 * (as SageMaker does for types not declared as JSON or CSV). Parameters (`; charset=...`) and case are ignored.
 */
export function declaredEncoding(contentType: string | undefined): CaptureEncoding {
  if (!contentType) return 'BASE64';
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (JSON_TYPES.has(media) || media.endsWith('+json')) return 'JSON';
  if (CSV_TYPES.has(media)) return 'CSV';
  return 'BASE64';
}
const JSON_TYPES = new Set([
  'application/json',
  'text/json',
  'application/jsonlines',
  'application/x-jsonlines',
  'application/x-ndjson',
  'application/ndjson',
]);
const CSV_TYPES = new Set(['text/csv', 'application/csv', 'text/x-csv']);

/** SageMaker's `inferenceTime`: ISO-8601 UTC to the second, `2026-11-20T23:33:12Z`. */
function inferenceTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + 'Z';
}

/**
 * The JSON text of `"pipeline":...,"group":...,"variant":...` for the `mlp` key, as bytes; made once per variant
 * by the writer, since these repeat on every record.
 */
export function mlpIdentity(pipeline: string, group: string, variant: string): Buffer {
  return Buffer.from(`"pipeline":${JSON.stringify(pipeline)},"group":${JSON.stringify(group)},"variant":${JSON.stringify(variant)}`);
}

/** What a content type turns into: its encoding and the `"observedContentType":"...",` bytes. */
interface ContentTypeInfo {
  encoding: CaptureEncoding;
  field: Buffer;
}
/** Content types repeat across requests: remember each one (bounded, so odd headers cannot grow it). */
const contentTypes = new Map<string, ContentTypeInfo>();
function contentTypeInfo(contentType: string): ContentTypeInfo {
  let info = contentTypes.get(contentType);
  if (info === undefined) {
    info = { encoding: declaredEncoding(contentType), field: Buffer.from(`"observedContentType":${JSON.stringify(contentType)},`) };
    if (contentTypes.size >= 256) contentTypes.clear();
    contentTypes.set(contentType, info);
  }
  return info;
}

/** Bytes that must be escaped inside a JSON string; everything else, UTF-8 sequences included, is copied as is. */
const MUST_ESCAPE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) MUST_ESCAPE[c] = 1;
MUST_ESCAPE[0x22] = 1;
MUST_ESCAPE[0x5c] = 1;
const SHORT_ESCAPE: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x0a: 0x6e, 0x0d: 0x72, 0x09: 0x74, 0x08: 0x62, 0x0c: 0x66 };
const HEX = Buffer.from('0123456789abcdef');
/** The most the line buffer keeps between batches. */
const KEEP_BYTES = 4 * 1024 * 1024;

/** Bytes a body takes escaped in a JSON string: at worst 6 per byte (`\u00XX`); counted exactly for large bodies. */
function escapedLength(body: Buffer): number {
  if (body.length < 16 * 1024) return 6 * body.length;
  let n = body.length;
  for (let i = 0; i < body.length; i++) if (MUST_ESCAPE[body[i]!] === 1) n += 5;
  return n;
}

/** Random bytes fetched at a time for event ids (16 per record). */
const RANDOM_POOL = 16 * 512;

/** The fixed parts of a record, encoded once. */
const F = {
  open: Buffer.from('{"captureData":{"endpointInput":{'),
  input: Buffer.from('"mode":"INPUT","data":"'),
  betweenSides: Buffer.from('},"endpointOutput":{'),
  output: Buffer.from('"mode":"OUTPUT","data":"'),
  JSON: Buffer.from('","encoding":"JSON"'),
  CSV: Buffer.from('","encoding":"CSV"'),
  BASE64: Buffer.from('","encoding":"BASE64"'),
  eventId: Buffer.from('}},"eventMetadata":{"eventId":"'),
  inferenceId: Buffer.from('","inferenceId":'),
  inferenceTime: Buffer.from(',"inferenceTime":"'),
  mlp: Buffer.from(`"},"eventVersion":"0","${MLP_KEY}":{`),
  status: Buffer.from(',"status":'),
  latency: Buffer.from(',"latencyMs":'),
  at: Buffer.from(',"at":'),
  close: Buffer.from('}}\n'),
};

/**
 * Serialises capture records straight into one growing buffer: fixed parts are copied from pre-encoded bytes
 * and JSON and CSV bodies escaped byte by byte, with no intermediate strings, so a record costs about a
 * microsecond (docs/serving.md). The buffer is reused from batch to batch; `bytes(start, end)` hands out views
 * that stay valid until the next `reset()`.
 */
export class CaptureLines {
  private buf: Buffer;
  private len = 0;
  private lastSecond = NaN;
  private lastTime = Buffer.alloc(0);
  private readonly random = Buffer.allocUnsafe(RANDOM_POOL);
  private randomAt = RANDOM_POOL;

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  bytes(start: number, end: number): Buffer {
    return this.buf.subarray(start, end);
  }

  reset(): void {
    this.len = 0;
    // One huge body must not pin a huge buffer for good.
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(KEEP_BYTES);
  }

  /** Appends one record as a line of JSON Lines; `identity` is `mlpIdentity(...)` of the invocation. */
  append(inv: Invocation, identity: Buffer): void {
    const req = inv.requestContentType === undefined ? undefined : contentTypeInfo(inv.requestContentType);
    const res = inv.responseContentType === undefined ? undefined : contentTypeInfo(inv.responseContentType);
    // The fixed parts, the id (at worst 6 bytes a character) and the identity; each side reserves for its body.
    this.reserve(6 * inv.inferenceId.length + identity.length + 512);
    this.copy(F.open);
    this.side(F.input, inv.requestBody, req);
    this.copy(F.betweenSides);
    this.side(F.output, inv.responseBody, res);
    this.copy(F.eventId);
    this.uuid();
    this.copy(F.inferenceId);
    this.jsonString(inv.inferenceId);
    this.copy(F.inferenceTime);
    const second = Math.floor(inv.at / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastTime = Buffer.from(inferenceTime(inv.at));
    }
    this.copy(this.lastTime);
    this.copy(F.mlp);
    this.copy(identity);
    this.copy(F.status);
    this.ascii(String(inv.status | 0));
    this.copy(F.latency);
    const latency = Math.round(inv.latencyMs * 1000) / 1000;
    this.ascii(String(Number.isFinite(latency) ? latency : 0));
    this.copy(F.at);
    this.ascii(String(Math.floor(inv.at)));
    this.copy(F.close);
  }

  /** One side's fields. A JSON/CSV body that is not valid UTF-8 is kept as BASE64, so it round-trips. */
  private side(mode: Buffer, body: Buffer, contentType: ContentTypeInfo | undefined): void {
    let enc = contentType?.encoding ?? 'BASE64';
    if (enc !== 'BASE64' && !isUtf8(body)) enc = 'BASE64';
    this.reserve((contentType?.field.length ?? 0) + 64 + (enc === 'BASE64' ? Math.ceil(body.length / 3) * 4 : escapedLength(body)));
    if (contentType) this.copy(contentType.field);
    this.copy(mode);
    if (enc === 'BASE64') this.len += this.buf.write(body.toString('base64'), this.len, 'latin1');
    else this.escaped(body);
    this.copy(F[enc]);
  }

  private escaped(body: Buffer): void {
    const out = this.buf;
    let len = this.len;
    for (let i = 0, n = body.length; i < n; i++) {
      const c = body[i]!;
      if (MUST_ESCAPE[c] === 0) {
        out[len++] = c;
        continue;
      }
      out[len++] = 0x5c;
      const short = SHORT_ESCAPE[c];
      if (short !== undefined) {
        out[len++] = short;
      } else {
        out[len++] = 0x75;
        out[len++] = 0x30;
        out[len++] = 0x30;
        out[len++] = HEX[c >> 4]!;
        out[len++] = HEX[c & 15]!;
      }
    }
    this.len = len;
  }

  /**
   * A random (version 4) UUID written as hex straight into the line: crypto.randomUUID() builds a string per
   * call, which costs more than the rest of the record's fixed parts together.
   */
  private uuid(): void {
    if (this.randomAt + 16 > RANDOM_POOL) {
      randomFillSync(this.random);
      this.randomAt = 0;
    }
    const r = this.random;
    const at = this.randomAt;
    this.randomAt += 16;
    const out = this.buf;
    let len = this.len;
    for (let i = 0; i < 16; i++) {
      let b = r[at + i]!;
      if (i === 6) b = (b & 0x0f) | 0x40;
      else if (i === 8) b = (b & 0x3f) | 0x80;
      if (i === 4 || i === 6 || i === 8 || i === 10) out[len++] = 0x2d;
      out[len++] = HEX[b >> 4]!;
      out[len++] = HEX[b & 15]!;
    }
    this.len = len;
  }

  /** A JSON string literal: printable ASCII is copied char by char, anything else goes through JSON.stringify. */
  private jsonString(s: string): void {
    const out = this.buf;
    let len = this.len;
    out[len++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.len += this.buf.write(JSON.stringify(s), this.len, 'utf8');
        return;
      }
      out[len++] = c;
    }
    out[len++] = 0x22;
    this.len = len;
  }

  /** A short string known to be ASCII (numbers): a loop beats Buffer#write's set-up at this length. */
  private ascii(s: string): void {
    const out = this.buf;
    let len = this.len;
    for (let i = 0; i < s.length; i++) out[len++] = s.charCodeAt(i);
    this.len = len;
  }

  private copy(bytes: Uint8Array): void {
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }
}

/** A captured request as replay reads it back. */
export interface CapturedRequest {
  /** Epoch ms the request arrived (`mlp.at`; for a plain SageMaker record, `inferenceTime`, to the second). */
  at: number;
  /** The variant that answered: `mlp.variant`, else the variant folder the record was found in. */
  variant: string;
  body: Buffer;
  contentType: string | undefined;
  /** What the model answered, when the record has the output side. */
  response: { body: Buffer; contentType: string | undefined } | null;
  /** HTTP status the client got, from the `mlp` key; null for plain SageMaker records. */
  status: number | null;
  latencyMs: number | null;
  eventId: string | null;
  inferenceId: string | null;
  /** `mlp` when the record has mlp's key, `sagemaker` when it is a plain SageMaker record. */
  source: 'mlp' | 'sagemaker';
  /** The pipeline and group from the `mlp` key (null for plain records: the folder says which). */
  pipeline: string | null;
  group: string | null;
}

/** Parses one line; null when it is not a usable capture record (not JSON, or no decodable input side). */
export function parseCaptureLine(line: string, folderVariant: string): CapturedRequest | null {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(rec) || !isObject(rec.captureData)) return null;
  const input = decodeSide(rec.captureData.endpointInput);
  if (!input) return null;
  const output = rec.captureData.endpointOutput === undefined ? null : decodeSide(rec.captureData.endpointOutput);
  const meta = isObject(rec.eventMetadata) ? rec.eventMetadata : {};
  const mlp = isObject(rec[MLP_KEY]) ? rec[MLP_KEY] : null;
  const mlpAt = mlp && typeof mlp.at === 'number' && Number.isFinite(mlp.at) ? mlp.at : null;
  const at = mlpAt ?? (typeof meta.inferenceTime === 'string' ? Date.parse(meta.inferenceTime) : NaN);
  if (!Number.isFinite(at)) return null;
  return {
    at,
    variant: mlp && typeof mlp.variant === 'string' ? mlp.variant : folderVariant,
    body: input.body,
    contentType: input.contentType,
    response: output,
    status: mlp && typeof mlp.status === 'number' ? mlp.status : null,
    latencyMs: mlp && typeof mlp.latencyMs === 'number' ? mlp.latencyMs : null,
    eventId: typeof meta.eventId === 'string' ? meta.eventId : null,
    inferenceId: typeof meta.inferenceId === 'string' ? meta.inferenceId : null,
    source: mlp ? 'mlp' : 'sagemaker',
    pipeline: mlp && typeof mlp.pipeline === 'string' ? mlp.pipeline : null,
    group: mlp && typeof mlp.group === 'string' ? mlp.group : null,
  };
}

function decodeSide(s: unknown): { body: Buffer; contentType: string | undefined } | null {
  if (!isObject(s)) return null;
  const contentType = typeof s.observedContentType === 'string' ? s.observedContentType : undefined;
  const { data, encoding } = s;
  if (encoding === 'BASE64' && typeof data === 'string') return { body: Buffer.from(data, 'base64'), contentType };
  if (encoding === 'JSON' || encoding === 'CSV') {
    // SageMaker writes the text itself; some tools write the parsed JSON value instead.
    if (typeof data === 'string') return { body: Buffer.from(data, 'utf8'), contentType };
    if (encoding === 'JSON' && data !== undefined) return { body: Buffer.from(JSON.stringify(data), 'utf8'), contentType };
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
