/**
 * Where Data Capture files live: SageMaker's key layout `<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`,
 * the same under `<data dir>/capture` and under `s3://<bucket>/mlp/capture` (docs/serving.md, "Data Capture").
 *
 * mlp serves one model per (pipeline, group), so the endpoint is the pair: `<pipeline>--<group>`. That is the
 * name a SageMaker endpoint for the group gets too, so SageMaker's own capture lands in the same folders.
 */
import { createHash } from 'node:crypto';

/** SageMaker endpoint and variant names: `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, at most 63 characters. */
const MAX_NAME = 63;
const HASH_CHARS = 8;
/** A pipeline or group that reads well as it is: lowercase, single hyphens (so `--` splits the pair). */
const PLAIN_PART = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const PLAIN_VARIANT = /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;
/** Capture folders hold an hour each. */
export const HOUR = 3_600_000;

/**
 * The endpoint folder (and SageMaker endpoint name) of a pipeline's group: `demand-forecast--london`.
 * Anything that would not survive as is (uppercase, `_`, spaces, non-ASCII, `--` inside a part, too long:
 * group names are warehouse data) is folded to `[a-z0-9-]`, shortened, and suffixed with a hash of the
 * exact pair, so two groups never share a folder and the name stays readable. Endpoint names are
 * case-insensitive on SageMaker, hence lowercase.
 */
export function captureEndpoint(pipeline: string, group: string): string {
  const plain = `${pipeline}--${group}`;
  if (PLAIN_PART.test(pipeline) && PLAIN_PART.test(group) && plain.length <= MAX_NAME) return plain;
  const fold = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'x';
  const hash = createHash('sha256').update(pipeline).update('\0').update(group).digest('hex').slice(0, HASH_CHARS);
  const head = `${fold(pipeline)}--${fold(group)}`.slice(0, MAX_NAME - HASH_CHARS - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/** The variant folder (and SageMaker production variant name): the model version, `v3`. */
export function captureVariant(variant: string): string {
  if (PLAIN_VARIANT.test(variant) && variant.length <= MAX_NAME) return variant;
  const hash = createHash('sha256').update(variant).digest('hex').slice(0, HASH_CHARS);
  const head = variant
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME - HASH_CHARS - 1)
    .replace(/-+$/, '');
  return head ? `${head}-${hash}` : hash;
}

/** `yyyy/mm/dd/hh` of the UTC hour that holds `ms`. */
export function hourFolder(ms: number): string {
  const d = new Date(Math.floor(ms / HOUR) * HOUR);
  return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCHours())}`;
}

/** The start (epoch ms) of the hour a `yyyy/mm/dd/hh` folder holds, or null if the parts are not one. */
export function hourStart(yyyy: string, mm: string, dd: string, hh: string): number | null {
  if (!/^\d{4}$/.test(yyyy) || ![mm, dd, hh].every((p) => /^\d{2}$/.test(p))) return null;
  const ms = Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh));
  return hourFolder(ms) === `${yyyy}/${mm}/${dd}/${hh}` ? ms : null;
}

/**
 * A file name unique to one writer and sortable by time inside its hour folder, like SageMaker's
 * `mm-ss-mmm-<id>.jsonl`: `<mm>-<ss>-<mmm>-<writer id>-<seq>.jsonl`, the time being when the file was opened.
 */
export function captureFileName(openedAt: number, writerId: string, seq: number): string {
  const d = new Date(openedAt);
  return `${pad2(d.getUTCMinutes())}-${pad2(d.getUTCSeconds())}-${String(d.getUTCMilliseconds()).padStart(3, '0')}-${writerId}-${String(seq).padStart(6, '0')}.jsonl`;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
