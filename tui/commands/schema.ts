/** `mlp schema [pipeline|mlp]`: the JSON Schema editors use to check and complete config files. */
import { mlpYamlJsonSchema, pipelineJsonSchema } from '../../shared/config/json-schema.js';
import { usageError } from '../../shared/errors.js';

export function schema(which: string): number {
  if (which !== 'pipeline' && which !== 'mlp') throw usageError(`mlp schema: '${which}' is not a schema (pipeline or mlp)`);
  console.log(JSON.stringify(which === 'pipeline' ? pipelineJsonSchema() : mlpYamlJsonSchema(), null, 2));
  return 0;
}
