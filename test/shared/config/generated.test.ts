import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generatedFiles } from '../../../scripts/gen-docs.js';
import { pipelineJsonSchema } from '../../../shared/config/json-schema.js';
import { renderConfigReference } from '../../../shared/config/reference.js';

const root = join(import.meta.dirname, '../../..');

describe('files generated from the config schema', () => {
  for (const [path, content] of Object.entries(generatedFiles())) {
    it(`${path} is up to date (run \`npm run docs\` after changing the schema)`, () => {
      assert.equal(readFileSync(join(root, path), 'utf8'), content);
    });
  }

  it('document every key of the contract', () => {
    const reference = renderConfigReference();
    for (const key of [
      'pipeline.groups.key',
      'pipeline.steps[].timeout_minutes',
      'pipeline.image',
      'pipeline.serve.command',
      'pipeline.deployment.backend',
      'pipeline.deployment.data_checks[].suite',
      'pipeline.deployment.replay.checks[].distribution.metric',
      'pipeline.deployment.rollback.on_latency_p99_above_ms',
      'warehouses',
      'aws.role_arn',
    ]) {
      assert.match(reference, new RegExp(`\\| \`${key.replace(/[.[\]]/g, '\\$&')}\` \\|`), key);
    }
    assert.match(reference, /\| `pipeline.deployment.rollout.step_percent` \| number \| `10` \| above 0 and at most 100 \| /);
  });

  it('give editors a schema where defaults are optional and unknown keys are errors', () => {
    const schema = pipelineJsonSchema() as { $id: string; properties: { pipeline: { required: string[]; additionalProperties: boolean } } };
    assert.equal(schema.$id, 'urn:mlp:schema:pipeline');
    assert.deepEqual(schema.properties.pipeline.required, ['name']);
    assert.equal(schema.properties.pipeline.additionalProperties, false);
  });
});
