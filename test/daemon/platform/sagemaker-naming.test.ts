import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointName, MAX_NAME, modelName, variantName } from '../../../daemon/platform/sagemaker/naming.js';

/** SageMaker's pattern for endpoint, endpoint config, model and variant names. */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

describe('SageMaker names', () => {
  it('keeps the pipeline and group readable', () => {
    assert.match(endpointName('demand-forecast', 'london'), /^mlp-demand-forecast-london-[0-9a-f]{8}$/);
    assert.match(modelName('demand-forecast', 'london', 3), /^mlp-demand-forecast-london-[0-9a-f]{8}-v3$/);
    assert.equal(variantName(12), 'v12');
  });

  it('tells apart names whose readable parts are the same', () => {
    assert.notEqual(endpointName('a-b', 'c'), endpointName('a', 'b-c'));
    assert.notEqual(endpointName('p', 'London'), endpointName('p', 'london'));
    assert.notEqual(endpointName('p', 'new york'), endpointName('p', 'new-york'));
  });

  it('fits any pipeline and group into a valid name of at most 63 characters', () => {
    const longPipeline = 'p'.repeat(63);
    const groups = ['São Paulo', '../../etc', '日本', '-', 'x'.repeat(300), 'a__b..c'];
    for (const group of groups) {
      for (const name of [endpointName(longPipeline, group), modelName(longPipeline, group, 123456), endpointName('p', group)]) {
        assert.ok(name.length <= MAX_NAME, `${name} is ${name.length} characters`);
        assert.match(name, SAGEMAKER_NAME);
      }
    }
    assert.match(endpointName('p', 'São Paulo'), /^mlp-p-sao-paulo-/);
  });

  it('gives the same names on every call (a restarted daemon finds its endpoint)', () => {
    assert.equal(endpointName('demand-forecast', 'São Paulo'), endpointName('demand-forecast', 'São Paulo'));
  });
});
