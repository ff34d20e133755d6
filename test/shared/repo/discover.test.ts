import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatProblem } from '../../../shared/config/problems.js';
import { MlpError } from '../../../shared/errors.js';
import { findPipelineFiles, findRepoRoot, loadRepo, validatePaths } from '../../../shared/repo/discover.js';

const reference = readFileSync(join(import.meta.dirname, '../../fixtures/config/reference.yaml'), 'utf8');
const mlpYaml = 'warehouses:\n  warehouse: sqlite:warehouse.db\n';
const made: string[] = [];
after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A throwaway folder holding `files` (relative path -> content). */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-discover-'));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('findRepoRoot', () => {
  it('walks up to the nearest mlp.yaml', () => {
    const root = folder({ 'mlp.yaml': mlpYaml, 'forecast/steps/x.py': '' });
    assert.equal(findRepoRoot(join(root, 'forecast/steps')), root);
    assert.equal(findRepoRoot(root), root);
  });

  it('else stops at the git root', () => {
    const root = folder({ '.git/HEAD': 'ref: refs/heads/main\n', 'forecast/pipeline.yaml': reference });
    assert.equal(findRepoRoot(join(root, 'forecast')), root);
  });

  it('prefers an mlp.yaml inside the git repo to the git root', () => {
    const root = folder({ '.git/HEAD': '', 'ml/mlp.yaml': mlpYaml, 'ml/forecast/pipeline.yaml': reference });
    assert.equal(findRepoRoot(join(root, 'ml/forecast')), join(root, 'ml'));
  });
});

describe('findPipelineFiles', () => {
  it('finds every pipeline.yaml below the root, skipping dependencies, builds and dot-folders', () => {
    const root = folder({
      'b/pipeline.yaml': '',
      'a/deep/er/pipeline.yaml': '',
      'pipeline.yaml': '',
      'node_modules/x/pipeline.yaml': '',
      'dist/pipeline.yaml': '',
      '.venv/pipeline.yaml': '',
      '.git/pipeline.yaml': '',
      'c/pipeline.yml': '',
    });
    assert.deepEqual(findPipelineFiles(root), [
      join(root, 'a/deep/er/pipeline.yaml'),
      join(root, 'b/pipeline.yaml'),
      join(root, 'pipeline.yaml'),
    ]);
  });
});

describe('loadRepo', () => {
  it('loads the example repo without a problem', () => {
    const load = loadRepo(join(import.meta.dirname, '../../../examples/repo'));
    assert.deepEqual(load.problems, []);
    assert.deepEqual(load.repoConfig, { warehouses: { warehouse: 'sqlite:warehouse.db' }, notify: [] });
    assert.deepEqual(
      load.pipelines.map((x) => x.name),
      ['churn-risk', 'demand-forecast'],
    );
    const p = load.pipelines.find((x) => x.name === 'demand-forecast');
    assert.equal(p!.dir, join(load.root, 'demand-forecast'));
    assert.equal(p!.file, join(load.root, 'demand-forecast/pipeline.yaml'));
    assert.equal(p!.hash, createHash('sha256').update(readFileSync(p!.file)).digest('hex'));
    assert.equal(p!.config.pipeline.deployment.rollout.step_percent, 20);
    assert.equal(p!.config.pipeline.deployment.data_checks[0]!.suite, 'expectations/features.json');
  });

  it('reports two pipelines with one name at the later file, naming the other', () => {
    const root = folder({ 'mlp.yaml': mlpYaml, 'a/pipeline.yaml': reference, 'b/pipeline.yaml': reference });
    const load = loadRepo(root);
    assert.deepEqual(
      load.problems.map((p) => formatProblem(p, root)),
      ["b/pipeline.yaml:2:9: pipeline name 'demand-forecast' is already used by a/pipeline.yaml (names must be unique in a repo)"],
    );
    assert.deepEqual(
      load.pipelines.map((p) => p.file),
      [join(root, 'a/pipeline.yaml')],
    );
  });

  it('reports a connection mlp.yaml does not declare, and a file that is invalid', () => {
    const root = folder({
      'mlp.yaml': 'warehouses:\n  other: sqlite:other.db\n',
      'forecast/pipeline.yaml': reference,
      'churn/pipeline.yaml': 'pipeline:\n  nmae: churn\n',
      'sm/pipeline.yaml': 'pipeline:\n  name: sm\n  deployment:\n    backend: sagemaker\n',
    });
    const load = loadRepo(root);
    assert.deepEqual(
      load.problems.map((p) => formatProblem(p, root)),
      [
        "churn/pipeline.yaml:2:3: missing required key 'name'",
        "churn/pipeline.yaml:2:3: unknown key 'nmae' (did you mean 'name'?)",
        "forecast/pipeline.yaml:6:13: connection 'warehouse' is not declared: add it under warehouses in mlp.yaml",
        "sm/pipeline.yaml:4:14: backend 'sagemaker' needs an aws section (role_arn, bucket) in mlp.yaml",
      ],
    );
    assert.deepEqual(load.pipelines, []);
  });

  it('accepts a pipeline folder without an mlp.yaml: there is nothing to check its connections against', () => {
    const root = folder({ '.git/HEAD': '', 'forecast/pipeline.yaml': reference });
    const load = loadRepo(root);
    assert.deepEqual(load.problems, []);
    assert.deepEqual(
      load.pipelines.map((p) => p.name),
      ['demand-forecast'],
    );
  });

  it("reports mlp.yaml's problems with its path and applies its defaults", () => {
    const bad = folder({ 'mlp.yaml': 'warehouse:\n  w: sqlite:w.db\n', 'p/pipeline.yaml': 'pipeline:\n  name: p\n' });
    const load = loadRepo(bad);
    assert.equal(load.repoConfig, null);
    assert.equal(load.repoConfigFile, join(bad, 'mlp.yaml'));
    assert.deepEqual(
      load.problems.map((p) => formatProblem(p, bad)),
      ["mlp.yaml:1:1: unknown key 'warehouse' (did you mean 'warehouses'?)"],
    );

    const good = folder({ 'mlp.yaml': 'defaults:\n  deployment:\n    backend: docker\n', 'p/pipeline.yaml': 'pipeline:\n  name: p\n' });
    assert.equal(loadRepo(good).pipelines[0]!.config.pipeline.deployment.backend, 'docker');
  });
});

describe('validatePaths', () => {
  const repo = () =>
    folder({
      'mlp.yaml': mlpYaml,
      '.git/HEAD': '',
      'forecast/pipeline.yaml': reference,
      'churn/pipeline.yaml': 'pipeline:\n  name: churn\n  deployment:\n    rollout:\n      step_percent: 150\n',
      'copy/pipeline.yaml': reference,
    });

  it('checks the repo around cwd when given no path', () => {
    const root = repo();
    const result = validatePaths([], join(root, 'forecast'));
    assert.deepEqual(
      result.problems.map((p) => formatProblem(p, join(root, 'forecast'))),
      [
        '../churn/pipeline.yaml:5:21: step_percent must be above 0 and at most 100, got 150',
        "pipeline.yaml:2:9: pipeline name 'demand-forecast' is already used by copy/pipeline.yaml (names must be unique in a repo)",
      ],
    );
    assert.deepEqual(
      result.pipelines.map((p) => p.name),
      ['demand-forecast'],
    );
    assert.equal(result.files.length, 4);
  });

  it('checks the files and folders given, with their repo’s mlp.yaml', () => {
    const root = repo();
    const result = validatePaths(['forecast/pipeline.yaml', 'churn'], root);
    assert.deepEqual(
      result.problems.map((p) => formatProblem(p, root)),
      ['churn/pipeline.yaml:5:21: step_percent must be above 0 and at most 100, got 150'],
    );
    assert.deepEqual(
      result.pipelines.map((p) => p.name),
      ['demand-forecast'],
    );
    assert.deepEqual(validatePaths(['forecast'], root).problems, []);
  });

  it('checks a file of any name as a pipeline, and mlp.yaml as the repo config', () => {
    const root = folder({ '.git/HEAD': '', 'mlp.yaml': 'aws: {}\n', 'draft.yaml': 'pipeline:\n  name: Draft\n' });
    assert.deepEqual(
      validatePaths(['draft.yaml', 'mlp.yaml'], root).problems.map((p) => formatProblem(p, root)),
      [
        "draft.yaml:2:9: name must be a lowercase slug (a-z, 0-9, '-' and '_', starting with a letter or digit), got 'Draft'",
        "mlp.yaml:1:6: missing required key 'bucket'",
        "mlp.yaml:1:6: missing required key 'role_arn'",
      ],
    );
  });

  it('refuses a path that does not exist as a usage error', () => {
    assert.throws(
      () => validatePaths(['nope.yaml'], tmpdir()),
      (err: unknown) =>
        err instanceof MlpError && err.code === 'usage' && err.message === 'mlp validate: no such file or folder: nope.yaml',
    );
  });
});
