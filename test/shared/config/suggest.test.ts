import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, didYouMean, editDistance } from '../../../shared/config/suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
    assert.equal(editDistance('step_percnt', 'step_percent'), 1);
    assert.equal(editDistance('nmae', 'name'), 1);
    assert.equal(editDistance('shcedule', 'schedule'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });
});

describe('closest', () => {
  const keys = ['strategy', 'initial_traffic', 'step_percent', 'step_interval_minutes'];

  it('suggests a key a typo away', () => {
    assert.equal(closest('step_percnt', keys), 'step_percent');
    assert.equal(closest('Strategy', keys), 'strategy');
    assert.equal(closest('inital_traffic', keys), 'initial_traffic');
  });

  it('stays silent when nothing is close', () => {
    assert.equal(closest('replicas', keys), undefined);
    assert.equal(closest('abc', ['xyz']), undefined);
    assert.equal(closest('x', []), undefined);
  });

  it('words the hint', () => {
    assert.equal(didYouMean('nmae', ['name', 'schedule']), " (did you mean 'name'?)");
    assert.equal(didYouMean('zzz', ['name']), '');
  });
});
