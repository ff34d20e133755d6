/**
 * The Markdown configuration reference (docs/config-reference.md), generated from the JSON
 * Schemas, which come from the zod schema: keys, types, defaults, limits and descriptions cannot
 * drift from what `mlp validate` enforces. A test fails when the checked-in file is stale.
 */
import { stringify } from 'yaml';
import { describeBounds } from './fields.js';
import { mlpYamlJsonSchema, pipelineJsonSchema } from './json-schema.js';
import { PipelineFileSchema } from './schema.js';

type JsonSchema = Record<string, unknown>;

interface Row {
  key: string;
  type: string;
  default: string;
  allowed: string;
  description: string;
}

const asSchema = (v: unknown): JsonSchema | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonSchema) : undefined);
const code = (text: string) => `\`${text}\``;
/** Table cells: a pipe would end the cell, a newline the row. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(s: JsonSchema): string {
  const anyOf = s.anyOf as JsonSchema[] | undefined;
  if (anyOf) return anyOf.map(typeOf).join(' or ');
  const additional = asSchema(s.additionalProperties);
  switch (s.type) {
    case 'object':
      return additional ? `mapping of ${typeOf(additional)}` : 'mapping';
    case 'array': {
      const items = asSchema(s.items);
      return items ? `list of ${items.type === 'object' ? 'mappings' : `${typeOf(items)}s`}` : 'list';
    }
    default:
      return String(s.type ?? 'any');
  }
}

function allowedOf(s: JsonSchema): string {
  const facts: string[] = [];
  if (Array.isArray(s.enum)) facts.push(s.enum.map((v) => code(String(v))).join(', '));
  if (s.const !== undefined) facts.push(code(String(s.const)));
  const num = (k: string) =>
    typeof s[k] === 'number' && Math.abs(s[k] as number) < Number.MAX_SAFE_INTEGER ? (s[k] as number) : undefined;
  const bounds = { min: num('minimum'), above: num('exclusiveMinimum'), max: num('maximum'), below: num('exclusiveMaximum') };
  const range = describeBounds(Object.fromEntries(Object.entries(bounds).filter(([, v]) => v !== undefined)));
  if (range) facts.push(range);
  if (s.minLength === 1) facts.push('not empty');
  if (typeof s.maxLength === 'number') facts.push(`at most ${s.maxLength} characters`);
  if (typeof s.pattern === 'string') facts.push(`matches ${code(s.pattern)}`);
  if (typeof s.minItems === 'number') facts.push(`at least ${s.minItems} ${s.minItems === 1 ? 'entry' : 'entries'}`);
  if (s.minProperties === 1 && s.maxProperties === 1) facts.push('exactly one key');
  const names = asSchema(s.propertyNames);
  if (names && typeof names.pattern === 'string') facts.push(`names match ${code(names.pattern)}`);
  const values = asSchema(s.additionalProperties);
  if (values && typeof values.pattern === 'string') facts.push(`values match ${code(values.pattern)}`);
  for (const alternative of (s.anyOf as JsonSchema[] | undefined) ?? []) {
    const more = allowedOf(alternative);
    if (more) facts.push(`${typeOf(alternative)}: ${more}`);
  }
  if (Array.isArray(s.examples))
    facts.push(`e.g. ${s.examples.map((e) => code(typeof e === 'string' ? e : JSON.stringify(e))).join(', ')}`);
  return facts.join('; ');
}

function defaultOf(s: JsonSchema, required: boolean): string {
  if (required) return 'required';
  if (!('default' in s)) return '';
  const d = s.default;
  // A section's `{}` only says "the defaults of its keys apply"; those are listed below it.
  if (s.type === 'object' && asSchema(d) && Object.keys(d as object).length === 0) return '';
  return code(JSON.stringify(d));
}

/** One row per key, depth first in schema order; list entries are `key[].child`. */
function rows(s: JsonSchema, prefix: string, out: Row[]): Row[] {
  const properties = asSchema(s.properties) ?? {};
  const required = new Set((s.required as string[] | undefined) ?? []);
  for (const [name, value] of Object.entries(properties)) {
    const child = asSchema(value)!;
    const key = prefix ? `${prefix}.${name}` : name;
    out.push({
      key,
      type: typeOf(child),
      default: defaultOf(child, required.has(name)),
      allowed: allowedOf(child),
      description: String(child.description ?? ''),
    });
    rows(child, key, out);
    const items = asSchema(child.items);
    if (items) rows(items, `${key}[]`, out);
  }
  return out;
}

function table(schema: JsonSchema): string {
  const lines = ['| Key | Type | Default | Allowed | Description |', '|---|---|---|---|---|'];
  for (const r of rows(schema, '', [])) {
    lines.push(`| ${[code(r.key), r.type, r.default, r.allowed, r.description].map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

const RULES = [
  '`pipeline.groups.source` is required when `pipeline.groups.generate` is true.',
  '`pipeline.steps` must include a step named `train`, and step names must be unique.',
  'A replay check is exactly one of `latency`, `distribution` or `python`; a `latency` check has `max_ratio` or `max_ms`, not both.',
  'A `sql:` data check needs a connection: its own `connection`, else the one of `pipeline.groups.source`.',
  'Pipeline names are unique in a repo (the later file by path is reported).',
  'Every connection a pipeline names (`groups.source`, `data_checks[].connection`) must be declared under `warehouses` in mlp.yaml (checked when the repo has one: a pipeline folder on its own validates without it).',
  '`deployment.backend: sagemaker` and `training.backend: sagemaker` need an `aws` section in mlp.yaml.',
  '`serve.mode: multi-model` is not built for `deployment.backend: sagemaker` yet (docs/serving.md, "Multi-model serving").',
];

const READING = [
  'The repo root is the nearest folder at or above the current one holding `mlp.yaml`; the search stops at the git root, which is the root when there is no `mlp.yaml`.',
  'Every `pipeline.yaml` below the root is a pipeline, except in `node_modules`, `dist` and dot-folders (`.git`, `.venv`, ...).',
  "`mlp validate PATH ...` checks the files given (any name; `mlp.yaml` as the repo config) and the `pipeline.yaml` files in the folders given, each with its repo's `mlp.yaml`; pipeline names are compared among the files checked together.",
  'Files are YAML 1.2: `yes`/`no`/`on`/`off` are strings, not booleans; merge keys (`<<`) are not supported; one document per file. YAML warnings (e.g. an unknown `!tag`) are problems too.',
  'Positions are 1-based: a wrong value is reported at the value, an unknown key at the key, a missing key at the start of the mapping that should hold it, an empty value at its key.',
];

/** The whole of docs/config-reference.md. */
export function renderConfigReference(): string {
  const minimal = PipelineFileSchema.parse({ pipeline: { name: 'demand-forecast' } });
  return [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs` from shared/config/schema.ts; do not edit by hand. -->',
    '',
    'A repo holds one `pipeline.yaml` per pipeline folder, anywhere under the repo root, and may hold an `mlp.yaml`',
    'at its root with what all pipelines share. `mlp validate` checks both and reports every problem as',
    '`FILE:LINE:COL: message`. Unknown keys are errors. JSON Schemas for editors: `schema/pipeline.schema.json`,',
    '`schema/mlp.schema.json` (e.g. `# yaml-language-server: $schema=../schema/pipeline.schema.json`).',
    '',
    '## pipeline.yaml',
    '',
    'Everything left out takes its default; a pipeline that sets only its name means:',
    '',
    '```yaml',
    stringify(minimal).trimEnd(),
    '```',
    '',
    table(pipelineJsonSchema()),
    '',
    '## mlp.yaml',
    '',
    'Optional; at the repo root, which `mlp` finds by walking up to the nearest `mlp.yaml` (else the git root).',
    '',
    table(mlpYamlJsonSchema()),
    '',
    '## Rules across keys and files',
    '',
    ...RULES.map((r) => `- ${r}`),
    '',
    '## How files are found and read',
    '',
    ...READING.map((r) => `- ${r}`),
    '',
  ].join('\n');
}
