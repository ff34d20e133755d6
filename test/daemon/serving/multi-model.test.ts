/** What follows from names in multi-model serving: the model names, their invoke paths, where a server finds a model. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { artifactDir, pipelineArtifactsDir } from '../../../daemon/runs/artifacts.js';
import { hostKey, invokePath, modelName, modelUrl } from '../../../daemon/serving/servers/multi-model.js';

describe('multi-model names', () => {
  it('names a model by its group and version, readable and URL-safe, as its folder in the artifact store', () => {
    assert.equal(modelName('berlin', 3), 'berlin--v3');
    assert.equal(invokePath(modelName('berlin', 3)), '/models/berlin--v3/invoke');
    const odd = modelName('São Paulo/../x', 2);
    assert.match(odd, /^sao-paulo-x~[0-9a-f]{16}--v2$/);
    assert.equal(encodeURIComponent(odd), odd, 'nothing to escape in a URL path');
  });

  it('gives distinct (group, version) pairs distinct names, even where the text could run together', () => {
    const pairs: [string, number][] = [
      ['a', 12],
      ['a', 1],
      ['a--v1', 2],
      ['a-', 12],
      ['A', 12],
      ['a b', 1],
      ['a-b', 1],
      ['', 1],
    ];
    const names = pairs.map(([g, v]) => modelName(g, v));
    assert.equal(new Set(names).size, pairs.length, names.join(' '));
  });

  it('one server per pipeline and backend', () => {
    assert.equal(hostKey({ pipeline: 'shop', backend: 'local' }), hostKey({ pipeline: 'shop', backend: 'local' }));
    assert.notEqual(hostKey({ pipeline: 'shop', backend: 'local' }), hostKey({ pipeline: 'shop', backend: 'docker' }));
    assert.notEqual(hostKey({ pipeline: 'shop', backend: 'local' }), hostKey({ pipeline: 'shops', backend: 'local' }));
  });

  it("loads a local server's model from the artifact store, a container's from the pipeline's artifacts mounted at /opt/ml/model", () => {
    const root = pipelineArtifactsDir('/data', 'shop');
    const dir = artifactDir('/data', 'shop', 'São Paulo', 4);
    assert.equal(modelUrl('local', root, dir), dir);
    assert.match(modelUrl('docker', root, dir), /^\/opt\/ml\/model\/sao-paulo~[0-9a-f]{16}\/v4$/);
  });
});
