/**
 * Names of the SageMaker resources mlp creates for a pipeline's group (docs/serving.md, "SageMaker endpoints", "Names").
 *
 * SageMaker names are at most 63 characters of letters, digits and `-`, unique per account and region. Pipeline
 * names are slugs of up to 63 characters and group names come from warehouse data, so a name keeps a readable
 * head (shortened, anything else turned into `-`) and always ends in a hash of the exact pipeline and group:
 * `mlp-demand-forecast-sao-paulo-1b2c3d4e`. Always, not only when the readable part changed, because the
 * readable part alone is ambiguous: pipeline `a-b` group `c` and pipeline `a` group `b-c` both read `a-b-c`.
 * The `mlp-` prefix lets an IAM policy scope the daemon to `endpoint/mlp-*`.
 */
import { createHash } from 'node:crypto';

/** SageMaker's limit for endpoint, endpoint config and model names. */
export const MAX_NAME = 63;
const PREFIX = 'mlp-';
/** 32 bits of (pipeline, group): a repo's groups never collide in practice. */
const HASH_CHARS = 8;

/** The endpoint that serves one group of a pipeline: every version of the group is a production variant on it. */
export function endpointName(pipeline: string, group: string): string {
  return named(pipeline, group, '');
}

/** The production variant of a model version on its group's endpoint. */
export function variantName(version: number): string {
  return `v${version}`;
}

/** The SageMaker Model of one version of a group; unique per account and region like the endpoint. */
export function modelName(pipeline: string, group: string, version: number): string {
  return named(pipeline, group, `-${variantName(version)}`);
}

/**
 * An endpoint configuration of the group's endpoint, named by a hash of what it holds (`content`): creating the
 * same configuration twice (after a crash) finds the one already made. `-c` keeps these apart from model names,
 * so `isConfigOf` tells exactly the group's configurations.
 */
export function endpointConfigName(pipeline: string, group: string, content: string): string {
  return named(pipeline, group, `${CONFIG_MARK}${createHash('sha256').update(content).digest('hex').slice(0, HASH_CHARS)}`);
}
const CONFIG_MARK = '-c';

/** Whether `name` is one of the group's endpoint configurations. */
export function isConfigOf(pipeline: string, group: string, name: string): boolean {
  return name.startsWith(PREFIX) && new RegExp(`-${groupHash(pipeline, group)}${CONFIG_MARK}[0-9a-f]{${HASH_CHARS}}$`).test(name);
}

const groupHash = (pipeline: string, group: string) =>
  createHash('sha256').update(`${pipeline}\0${group}`).digest('hex').slice(0, HASH_CHARS);

/** `mlp-<readable>-<hash><tail>`, the readable part cut so the whole is at most MAX_NAME characters. */
function named(pipeline: string, group: string, tail: string): string {
  const hash = groupHash(pipeline, group);
  const room = MAX_NAME - PREFIX.length - 1 - HASH_CHARS - tail.length;
  const readable = `${pipeline}-${group}`
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents: é -> e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return `${PREFIX}${readable ? `${readable}-` : ''}${hash}${tail}`;
}
