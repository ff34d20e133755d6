/**
 * Where steps run and where models serve: `training.backend` and `deployment.backend`, with the
 * repo's defaults, through the loader a user's files go through.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pipelineBackends } from '../../../shared/config/backends.js';
import { parsePipelineConfig, parseRepoConfig } from '../../../shared/config/load.js';
import { formatProblem } from '../../../shared/config/problems.js';
import type { RepoDefaults } from '../../../shared/config/schema.js';
import { loadRepo } from '../../../shared/repo/discover.js';

/** A pipeline.yaml with `lines` under `pipeline:`. */
const pipeline = (...lines: string[]) => ['pipeline:', '  name: forecast', ...lines, ''].join('\n');

function backendsOf(text: string, defaults?: RepoDefaults) {
  const parsed = parsePipelineConfig(text, 'pipeline.yaml', defaults ? { defaults } : {});
  assert.deepEqual(parsed.problems, []);
  return pipelineBackends(parsed.config!.pipeline);
}

describe('training and serving backends', () => {
  it('both local when nothing is set', () => {
    assert.deepEqual(backendsOf(pipeline()), { training: 'local', serving: 'local' });
  });

  it('steps follow deployment.backend when training.backend is not set (one key moves both, as before)', () => {
    assert.deepEqual(backendsOf(pipeline('  deployment:', '    backend: docker')), { training: 'docker', serving: 'docker' });
    assert.deepEqual(backendsOf(pipeline(), { deployment: { backend: 'sagemaker' } }), { training: 'sagemaker', serving: 'sagemaker' });
  });

  it("the pipeline's training.backend, else mlp.yaml's defaults.training.backend, else deployment.backend", () => {
    const trainsInDocker = pipeline('  training:', '    backend: docker', '  deployment:', '    backend: sagemaker');
    assert.deepEqual(backendsOf(trainsInDocker), { training: 'docker', serving: 'sagemaker' });
    assert.deepEqual(backendsOf(trainsInDocker, { training: { backend: 'local' } }), { training: 'docker', serving: 'sagemaker' });
    const servesOnSageMaker = pipeline('  deployment:', '    backend: sagemaker');
    assert.deepEqual(backendsOf(servesOnSageMaker, { training: { backend: 'docker' } }), { training: 'docker', serving: 'sagemaker' });
    assert.deepEqual(
      backendsOf(pipeline('  training:', '    instance_type: ml.m5.large'), {
        training: { backend: 'sagemaker' },
        deployment: { backend: 'docker' },
      }),
      {
        training: 'sagemaker',
        serving: 'docker',
      },
    );
  });

  it('reports a misspelt backend with the closest value, and a misspelt key with the closest key', () => {
    const wrong = parsePipelineConfig(pipeline('  training:', '    backend: dockr', '    backnd: local'), 'pipeline.yaml');
    assert.deepEqual(
      wrong.problems.map((p) => formatProblem(p)),
      [
        "pipeline.yaml:4:14: backend must be one of 'local', 'docker', 'sagemaker', got 'dockr' (did you mean 'docker'?)",
        "pipeline.yaml:5:5: unknown key 'backnd' (did you mean 'backend'?)",
      ],
    );
    const repo = parseRepoConfig('defaults:\n  trainng:\n    backend: docker\n', 'mlp.yaml');
    assert.deepEqual(
      repo.problems.map((p) => formatProblem(p)),
      ["mlp.yaml:2:3: unknown key 'trainng' (did you mean 'training'?)"],
    );
    assert.deepEqual(parseRepoConfig('defaults:\n  training:\n    backend: sagemaker\n', 'mlp.yaml').config?.defaults, {
      training: { backend: 'sagemaker' },
    });
  });

  it("multi-model serving is refused on the sagemaker backend, also when mlp.yaml's defaults choose it, at serve.mode", () => {
    const multiModel = pipeline('  serve:', '    mode: multi-model');
    const notYet =
      "pipeline.yaml:4:11: serve.mode 'multi-model' is not built for deployment.backend 'sagemaker' yet (a SageMaker multi-model endpoint is the next step, docs/serving.md): use serve.mode 'single-model' there, or the local or docker backend";
    assert.deepEqual(
      parsePipelineConfig(`${multiModel}  deployment:\n    backend: sagemaker\n`, 'pipeline.yaml').problems.map((p) => formatProblem(p)),
      [notYet],
    );
    const byDefault = parsePipelineConfig(multiModel, 'pipeline.yaml', { defaults: { deployment: { backend: 'sagemaker' } } });
    assert.deepEqual(
      byDefault.problems.map((p) => formatProblem(p)),
      [notYet],
    );
    assert.equal(
      parsePipelineConfig(`${multiModel}  deployment:\n    backend: docker\n`, 'pipeline.yaml').config?.pipeline.serve.mode,
      'multi-model',
    );
    assert.equal(parsePipelineConfig(pipeline(), 'pipeline.yaml').config?.pipeline.serve.mode, 'single-model');
  });

  describe('in a repo', () => {
    const made: string[] = [];
    after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    const repo = (files: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), 'mlp-backends-'));
      made.push(dir);
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      return dir;
    };

    it("applies mlp.yaml's defaults.training.backend", () => {
      const root = repo({ 'mlp.yaml': 'defaults:\n  training:\n    backend: docker\n', 'p/pipeline.yaml': pipeline() });
      const load = loadRepo(root);
      assert.deepEqual(load.problems, []);
      assert.deepEqual(pipelineBackends(load.pipelines[0]!.config.pipeline), { training: 'docker', serving: 'local' });
    });

    it('needs the aws section for steps on SageMaker, at the key that asks for it', () => {
      const root = repo({ 'mlp.yaml': 'warehouses: {}\n', 'p/pipeline.yaml': pipeline('  training:', '    backend: sagemaker') });
      assert.deepEqual(
        loadRepo(root).problems.map((p) => formatProblem(p, root)),
        [
          "p/pipeline.yaml:4:14: training backend 'sagemaker' runs the steps as SageMaker jobs: it needs an aws section (role_arn, bucket) in mlp.yaml",
        ],
      );
    });
  });
});
