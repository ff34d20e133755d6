/**
 * `npm run docs`: writes the files generated from the config schema, which are checked in so
 * they can be read on GitHub and pointed at by editors. test/shared/config/generated.test.ts
 * fails when they are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mlpYamlJsonSchema, pipelineJsonSchema } from '../shared/config/jsonSchema.js';
import { renderConfigReference } from '../shared/config/reference.js';

/** Path relative to the project root -> content. */
export function generatedFiles(): Record<string, string> {
  return {
    'docs/config-reference.md': renderConfigReference(),
    'schema/pipeline.schema.json': `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`,
    'schema/mlp.schema.json': `${JSON.stringify(mlpYamlJsonSchema(), null, 2)}\n`,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  for (const [path, content] of Object.entries(generatedFiles())) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    console.log(`wrote ${path}`);
  }
}
