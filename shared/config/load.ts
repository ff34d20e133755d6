/**
 * YAML text -> validated config, or every problem with the position of the node at fault:
 * a wrong value at the value, an unknown key at the key, a missing key at its parent mapping.
 * Pure: the caller reads the file.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { friendlyMessage } from './messages.js';
import type { ConfigProblem } from './problems.js';
import { sortProblems } from './problems.js';
import { PipelineFileSchema, RepoConfigSchema, type PipelineConfig, type RepoConfig, type RepoDefaults } from './schema.js';
import { didYouMean } from './suggest.js';

export type ConfigPath = readonly PropertyKey[];

export interface Position {
  line: number;
  col: number;
}

export interface ParsedConfig<T> {
  /** Present only when there is no problem at all. */
  config?: T;
  /** Sorted by position. */
  problems: ConfigProblem[];
  /** Where a key path is in the file, by the rules above (for problems found later, across files). */
  locate(path: ConfigPath): Position;
  /** A problem at a key path of this file. */
  problemAt(path: ConfigPath, message: string, at?: 'key' | 'value'): ConfigProblem;
}

/** Parses and validates a pipeline.yaml; `defaults` (from mlp.yaml) fill keys the file leaves out. */
export function parsePipelineConfig(text: string, file: string, options: { defaults?: RepoDefaults } = {}): ParsedConfig<PipelineConfig> {
  return parseConfig(text, file, PipelineFileSchema, (input) => applyDefaults(input, options.defaults));
}

/** Parses and validates an mlp.yaml. */
export function parseRepoConfig(text: string, file: string): ParsedConfig<RepoConfig> {
  return parseConfig(text, file, RepoConfigSchema, (input) => input);
}

function parseConfig<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  prepare: (input: unknown) => unknown,
): ParsedConfig<z.output<S>> {
  const lineCounter = new LineCounter();
  // logLevel 'error': what yaml would print as a warning is reported as a problem instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const position = (offset: number): Position => lineCounter.linePos(offset);
  const locate = (path: ConfigPath, at: 'key' | 'value' = 'value') => position(offsetOf(doc, path, at));
  const problemAt = (path: ConfigPath, message: string, at: 'key' | 'value' = 'value'): ConfigProblem => ({
    file,
    ...locate(path, at),
    message,
  });

  const problems = [...doc.errors, ...doc.warnings].map((e) => ({ file, ...position(e.pos[0]), message: yamlMessage(doc, e, position) }));
  // A broken document yields made-up values; only duplicate keys leave the structure intact.
  let readable = doc.errors.every((e) => e.code === 'DUPLICATE_KEY');
  let input: unknown;
  if (readable) {
    try {
      // An empty file is an empty mapping: the reader then learns which keys are required.
      input = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (err) {
      problems.push({ file, line: 1, col: 1, message: `invalid YAML: ${lowerFirst((err as Error).message)}` });
      readable = false;
    }
  }
  let config: z.output<S> | undefined;
  if (readable) {
    const knownKeys = new Map<string, string[]>();
    const result = schema.safeParse(prepare(input), { error: rememberKnownKeys(knownKeys) });
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(...issueProblems(issue, knownKeys, problemAt));
    } else if (problems.length === 0) {
      config = result.data;
    }
  }
  return { ...(config === undefined ? {} : { config }), problems: sortProblems(problems), locate: (path) => locate(path), problemAt };
}

/** The friendly messages, plus the valid keys of every mapping with an unknown key (for suggestions). */
function rememberKnownKeys(knownKeys: Map<string, string[]>): z.core.$ZodErrorMap {
  return (iss) => {
    if (iss.code === 'unrecognized_keys' && iss.inst && 'shape' in iss.inst) {
      knownKeys.set(JSON.stringify(iss.path ?? []), Object.keys(iss.inst.shape as object));
    }
    return friendlyMessage(iss);
  };
}

// YAML 1.1 merge keys are off (YAML 1.2 core schema): say so rather than leave '<<' a mystery.
const MERGE_KEY = '<<';
const MERGE_HINT = ' (YAML merge keys are not supported: write the keys out)';

function issueProblems(
  issue: z.core.$ZodIssue,
  knownKeys: Map<string, string[]>,
  problemAt: ParsedConfig<unknown>['problemAt'],
): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys.get(JSON.stringify(issue.path)) ?? [];
    return issue.keys.map((key) =>
      problemAt([...issue.path, key], `unknown key '${key}'${key === MERGE_KEY ? MERGE_HINT : didYouMean(key, known)}`, 'key'),
    );
  }
  return [problemAt(issue.path, issue.message, issue.code === 'invalid_key' ? 'key' : 'value')];
}

/**
 * The offset of the node at `path`: the value (or, with `at: 'key'`, the key) when it exists;
 * a value left empty is shown at its key; a key that does not exist at its parent mapping.
 */
function offsetOf(doc: Document, path: ConfigPath, at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, segment] of path.entries()) {
    let next: unknown;
    let keyOffset: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(segment));
      if (!pair) return offset;
      keyOffset = rangeStart(pair.key);
      if (i === path.length - 1 && at === 'key' && keyOffset !== undefined) return keyOffset;
      next = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else {
      return offset;
    }
    const start = rangeStart(next);
    if (start === undefined || isEmptyScalar(next)) return keyOffset ?? offset;
    node = next;
    offset = start;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

/** YAML's own messages, worded for config authors. */
function yamlMessage(doc: Document, e: YAMLError, position: (offset: number) => Position): string {
  if (e.code === 'DUPLICATE_KEY') return duplicateKeyMessage(doc, e.pos[0], position);
  if (e.code === 'MULTIPLE_DOCS') return "invalid YAML: a config file holds one document; remove the '---' line";
  return e.name === 'YAMLWarning' ? `YAML warning: ${lowerFirst(e.message)}` : `invalid YAML: ${lowerFirst(e.message)}`;
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

/** "duplicate key 'name' (first on line 2)": the error points at the second key; find the first. */
function duplicateKeyMessage(doc: Document, offset: number, position: (offset: number) => Position): string {
  let message = 'duplicate key (a key may appear once per mapping)';
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => rangeStart(p.key) === offset);
      if (!dup) return undefined;
      const name = keyText(dup.key);
      const first = map.items.find((p) => keyText(p.key) === name);
      const firstStart = first && first !== dup ? rangeStart(first.key) : undefined;
      message = `duplicate key '${name}'${firstStart === undefined ? '' : ` (first on line ${position(firstStart).line})`}`;
      return visit.BREAK;
    },
  });
  return message;
}

/**
 * Writes the repo's defaults into a pipeline.yaml's values where the file sets nothing, before
 * validation: the file then validates as if the author had written them.
 */
function applyDefaults(input: unknown, defaults: RepoDefaults | undefined): unknown {
  const pipeline = asRecord(asRecord(input)?.pipeline);
  if (!defaults || !pipeline) return input;
  if (defaults.timezone !== undefined && pipeline.timezone === undefined) pipeline.timezone = defaults.timezone;
  defaultBackend(pipeline, 'training', defaults.training?.backend);
  defaultBackend(pipeline, 'deployment', defaults.deployment?.backend);
  return input;
}

/** `<section>.backend = backend` unless the file sets one (a section that is not a mapping is left for the schema to report). */
function defaultBackend(pipeline: Record<string, unknown>, section: 'training' | 'deployment', backend: string | undefined): void {
  if (backend === undefined) return;
  if (pipeline[section] === undefined) pipeline[section] = {};
  const mapping = asRecord(pipeline[section]);
  if (mapping && mapping.backend === undefined) mapping.backend = backend;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
