/** The JSONPath subset replay checks read answers with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonPath, selectJsonPath } from '../../../daemon/replay/json-path.js';

const select = (path: string, doc: unknown) => selectJsonPath(parseJsonPath(path), doc);

describe('JSONPath subset', () => {
  const doc = { demand: 412.5, 'p-value': 0.2, 'odd key': 1, predictions: [{ score: 0.1 }, { score: 0.9 }], nested: { a: { b: 'x' } } };

  it('selects members, indexes and wildcards', () => {
    assert.deepEqual(select('$', 3), [3]);
    assert.deepEqual(select('$.demand', doc), [412.5]);
    assert.deepEqual(select('$.nested.a.b', doc), ['x']);
    assert.deepEqual(select('$.predictions[0].score', doc), [0.1]);
    assert.deepEqual(select('$.predictions[-1].score', doc), [0.9]);
    assert.deepEqual(select('$.predictions[*].score', doc), [0.1, 0.9]);
    assert.deepEqual(select('$[*]', [1, 2, 3]), [1, 2, 3]);
    assert.deepEqual(select('$.nested.*', doc), [{ b: 'x' }]);
    assert.deepEqual(select("$['odd key']", doc), [1]);
    assert.deepEqual(select('$["p-value"]', doc), [0.2]);
    assert.deepEqual(select('$.p-value', doc), [0.2]);
  });

  it('selects nothing where the answer does not have the path', () => {
    assert.deepEqual(select('$.missing', doc), []);
    assert.deepEqual(select('$.demand.x', doc), []);
    assert.deepEqual(select('$.predictions[5]', doc), []);
    assert.deepEqual(select('$[0]', { 0: 'not an array' }), []);
    assert.deepEqual(select('$.demand', undefined), []);
  });

  it('refuses what it does not support, saying what it supports', () => {
    assert.throws(() => parseJsonPath('$..score'), /recursive descent '\.\.' is not supported/);
    assert.throws(() => parseJsonPath('$.a[?(@.x > 1)]'), /not supported.*supported: \$\.a\.b/);
    assert.throws(() => parseJsonPath('$.a[1:3]'), /not supported/);
    assert.throws(() => parseJsonPath('demand'), /must start with '\$'/);
    assert.throws(() => parseJsonPath('$.a[0'), /unclosed/);
  });
});
