/**
 * JSON Schemas of pipeline.yaml and mlp.yaml for editors (e.g. the YAML language server), derived
 * from the zod schema. They describe what may be written, so keys with defaults are optional.
 * Rules zod cannot express in JSON Schema (cron syntax, time zones, cross-field rules) are only
 * checked by `mlp validate`.
 */
import { z } from 'zod';
import { PipelineFileSchema, RepoConfigSchema } from './schema.js';

type JsonSchema = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType, id: string, title: string, description: string): JsonSchema {
  const generated = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
  const { $schema, ...rest } = generated;
  // $schema, $id and title first: the order editors and readers expect.
  return { $schema, $id: id, title, description, ...rest };
}

/** The JSON Schema of pipeline.yaml. */
export function pipelineJsonSchema(): JsonSchema {
  return toJsonSchema(
    PipelineFileSchema,
    'urn:mlp:schema:pipeline',
    'mlp pipeline.yaml',
    'One mlp pipeline: how its model is trained, checked and rolled out. Reference: docs/config-reference.md.',
  );
}

/** The JSON Schema of the repo's mlp.yaml. */
export function mlpYamlJsonSchema(): JsonSchema {
  return toJsonSchema(
    RepoConfigSchema,
    'urn:mlp:schema:mlp',
    'mlp mlp.yaml',
    'What every pipeline of an mlp repo shares: warehouse connections, AWS, defaults. Reference: docs/config-reference.md.',
  );
}
