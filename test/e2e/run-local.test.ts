/** `mlp run <step> --local`: the data scientist's inner loop, without a daemon. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { pipelineRepo, SERVE_PY, TRAIN_PY } from '../helpers/pipelines.js';

function versions(dataDir: string) {
  const db = new Database(join(dataDir, 'mlp.db'), { readonly: true });
  try {
    return db
      .prepare(
        'SELECT pipeline, group_name AS "group", version, artifact_uri AS uri, metrics_json AS metrics FROM model_versions ORDER BY pipeline, group_name, version',
      )
      .all() as {
      pipeline: string;
      group: string;
      version: number;
      uri: string;
      metrics: string;
    }[];
  } finally {
    db.close();
  }
}

describe('mlp run --local', () => {
  it('runs a step once per discovered group, chains outputs, and versions what train writes', async () => {
    const repo = pipelineRepo();
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const env = { MLP_DATA_DIR: dataDir };
    const cwd = join(repo, 'forecast');

    const pre = await runCli('mlp', ['run', 'preprocess', '--local'], { cwd, env });
    assert.equal(pre.code, 0, pre.stderr);
    assert.match(pre.stdout, /london \| preprocessed london/);
    assert.match(pre.stdout, /paris \| preprocessed paris/);
    assert.match(pre.stderr, /✔ london: preprocess succeeded in .* \[\d\/2 groups\]/);

    const train = await runCli('mlp', ['run', 'train', '--local', '--pipeline', 'forecast'], { cwd: repo, env });
    assert.equal(train.code, 0, train.stderr);
    // train on its own reads what the latest preprocess wrote for its group
    assert.match(train.stdout, /london \| trained london on 6 rows/);
    assert.match(train.stdout, /paris \| trained paris on 5 rows/);
    const envLine = /london \| env (.*)/.exec(train.stdout)![1]!;
    const seen = JSON.parse(envLine) as Record<string, string>;
    assert.equal(seen.MLP_GROUP, 'london');
    assert.match(seen.MLP_RUN_ID!, /^r-/);
    assert.equal(seen.MLP_MODEL_DIR, seen.SM_MODEL_DIR);
    assert.ok(seen.MLP_INPUT_DIR && seen.MLP_OUTPUT_DIR);
    assert.match(train.stderr, /london: model version v1/);

    const v = versions(dataDir);
    assert.deepEqual(
      v.map((x) => [x.group, x.version]),
      [
        ['london', 1],
        ['paris', 1],
      ],
    );
    assert.deepEqual(JSON.parse(v[0]!.metrics), { rmse: 1.5 });
    assert.deepEqual(JSON.parse(readFileSync(join(v[0]!.uri, 'model.json'), 'utf8')), { group: 'london', scale: 6 });

    const again = await runCli('mlp', ['run', 'train', '--local', '--group', 'paris', '--pipeline', join(repo, 'forecast')], {
      cwd: tmpdir(),
      env,
    });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /london/);
    assert.deepEqual(
      versions(dataDir).map((x) => [x.group, x.version]),
      [
        ['london', 1],
        ['paris', 1],
        ['paris', 2],
      ],
    );
  });

  it('exits 1 with the failing group and its cause; other groups still run', async () => {
    const repo = pipelineRepo({ extra: { 'forecast/fail-paris': '' } });
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const r = await runCli('mlp', ['run', 'train', '--local'], { cwd: join(repo, 'forecast'), env: { MLP_DATA_DIR: dataDir } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ paris: train failed in .*: step 'train' exited with code 3: ValueError: cannot train paris/);
    assert.match(r.stderr, /train failed: 1 of 2 groups failed: paris: step 'train' exited with code 3/);
    assert.deepEqual(
      versions(dataDir).map((x) => x.group),
      ['london'],
    );
  });

  it('says what is wrong with the command line, the step name or the config', async () => {
    const repo = pipelineRepo();
    const cwd = join(repo, 'forecast');
    const env = { MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) };
    const noExecutor = await runCli('mlp', ['run', 'train'], { cwd, env });
    assert.equal(noExecutor.code, 2);
    assert.match(noExecutor.stderr, /choose exactly one of --local, --docker, --cloud/);
    const badStep = await runCli('mlp', ['run', 'evaluate', '--local'], { cwd, env });
    assert.equal(badStep.code, 2);
    assert.match(badStep.stderr, /no step 'evaluate' \(steps: preprocess, train\)/);
    const outside = await runCli('mlp', ['run', 'train', '--local'], { cwd: repo, env });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /not inside a pipeline folder/);

    writeFileSync(join(cwd, 'pipeline.yaml'), 'pipeline:\n  name: forecast\n  stepz: []\n');
    const invalid = await runCli('mlp', ['run', 'train', '--local'], { cwd, env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /pipeline\.yaml:3:3: unknown key 'stepz' \(did you mean 'steps'\?\)/);
  });

  it('names the missing table or column of the groups source', async () => {
    const repo = pipelineRepo({
      pipelineYaml: 'pipeline:\n  name: forecast\n  groups:\n    generate: true\n    source: warehouse.towns\n',
    });
    const r = await runCli('mlp', ['run', 'train', '--local'], {
      cwd: join(repo, 'forecast'),
      env: { MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warehouse 'warehouse': table 'towns' does not exist/);
    assert.equal(existsSync(join(repo, 'forecast', 'model')), false);
  });

  describe('groups whose names are paths', () => {
    /** Every file and folder under `dir` with its modification time (links: where they point). */
    const snapshot = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .map((e) => {
          const path = join(e.parentPath, e.name);
          return `${relative(dir, path)} ${e.isSymbolicLink() ? realpathSync(path) : statSync(path).mtimeMs}`;
        })
        .sort();

    it('keeps every run, link and version inside the data dir and the pipeline, under the group it came from', async () => {
      const hostile = ['../../../../OUTSIDE', '../other-pipeline/default'];
      const repo = pipelineRepo({
        cities: ['london', ...hostile, '', 'lon\ndon'],
        extra: {
          'other-pipeline/pipeline.yaml': 'pipeline:\n  name: other-pipeline\n',
          'other-pipeline/train.py': TRAIN_PY,
          'other-pipeline/serve.py': SERVE_PY,
        },
      });
      // The data dir deep in a folder of its own: whatever escapes it (up to 4 levels) shows up around it.
      const around = mkdtempSync(join(tmpdir(), 'mlp-around-'));
      const dataDir = join(around, 'a', 'b', 'data');
      const env = { MLP_DATA_DIR: dataDir };

      const other = await runCli('mlp', ['run', 'train', '--local'], { cwd: join(repo, 'other-pipeline'), env });
      assert.equal(other.code, 0, other.stderr);
      const othersFiles = [join(dataDir, 'runs', 'other-pipeline'), join(dataDir, 'artifacts', 'other-pipeline')].map(snapshot);

      const r = await runCli('mlp', ['run', 'train', '--local'], { cwd: join(repo, 'forecast'), env });
      assert.deepEqual(
        readdirSync(around, { recursive: true, encoding: 'utf8' })
          .filter((p) => !p.startsWith('a/b/data/'))
          .sort(),
        ['a', 'a/b', 'a/b/data'],
      );
      for (const entry of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
        const real = realpathSync(join(entry.parentPath, entry.name));
        assert.ok(real.startsWith(realpathSync(dataDir) + '/'), `${real} is outside the data dir`);
      }
      assert.deepEqual([join(dataDir, 'runs', 'other-pipeline'), join(dataDir, 'artifacts', 'other-pipeline')].map(snapshot), othersFiles);

      assert.equal(r.code, 0, r.stderr);
      // Values that cannot be groups are named, with why; the other groups run.
      assert.match(
        r.stderr,
        /mlp run: groups\.source warehouse\.cities: the value "" is not used as a group: a group name cannot be empty \(fix or remove its rows\)/,
      );
      assert.match(
        r.stderr,
        /the value "lon\\ndon" is not used as a group: a group name cannot contain control characters \(U\+000A at position 4\)/,
      );
      assert.match(r.stderr, /train --local for 3 groups/);

      const stored = versions(dataDir);
      assert.deepEqual(
        stored.map((v) => [v.pipeline, v.group, v.version]),
        [
          ['forecast', '../../../../OUTSIDE', 1],
          ['forecast', '../other-pipeline/default', 1],
          ['forecast', 'london', 1],
          ['other-pipeline', 'default', 1],
        ],
      );
      for (const v of stored) {
        assert.ok(v.uri.startsWith(join(dataDir, 'artifacts', v.pipeline) + '/'), `${v.group}: ${v.uri}`);
        assert.equal(JSON.parse(readFileSync(join(v.uri, 'model.json'), 'utf8')).group, v.group);
      }
      assert.equal(stored[2]!.uri, join(dataDir, 'artifacts', 'forecast', 'london', 'v1'));
      assert.match(stored[0]!.uri, /\/artifacts\/forecast\/outside~[0-9a-f]{16}\/v1$/);
      assert.deepEqual(readdirSync(join(dataDir, 'runs', 'forecast')).sort(), readdirSync(join(dataDir, 'artifacts', 'forecast')).sort());
    });

    it('mlp run --group encodes a path-like group and refuses one that cannot be a group (exit 2)', async () => {
      const repo = pipelineRepo();
      const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
      const env = { MLP_DATA_DIR: dataDir };
      const cwd = join(repo, 'forecast');

      const path = await runCli('mlp', ['run', 'train', '--local', '--group', '../x'], { cwd, env });
      assert.equal(path.code, 0, path.stderr);
      assert.deepEqual(readdirSync(join(dataDir, 'artifacts')), ['forecast']);
      const [v] = versions(dataDir);
      assert.equal(v!.group, '../x');
      assert.match(v!.uri, new RegExp(`^${dataDir}/artifacts/forecast/x~[0-9a-f]{16}/v1$`));

      for (const [group, why] of [
        ['', /a group name cannot be empty/],
        ['..', /a group name cannot be '\.\.' \(URLs resolve it/],
        ['a\nb', /"a\\nb": a group name cannot contain control characters/],
      ] as const) {
        const bad = await runCli('mlp', ['run', 'train', '--local', '--group', 'london', '--group', group], { cwd, env });
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /mlp run: --group /);
        assert.match(bad.stderr, why);
      }
      assert.equal(versions(dataDir).length, 1);
    });
  });
});
