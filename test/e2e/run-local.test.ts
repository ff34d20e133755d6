/** `mlp run <step> --local`: the data scientist's inner loop, without a daemon. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { pipelineRepo } from '../helpers/pipelines.js';

function versions(dataDir: string) {
  const db = new Database(join(dataDir, 'mlp.db'), { readonly: true });
  try {
    return db.prepare('SELECT group_name AS "group", version, artifact_uri AS uri, metrics_json AS metrics FROM model_versions ORDER BY group_name, version').all() as {
      group: string; version: number; uri: string; metrics: string;
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
    assert.deepEqual(v.map((x) => [x.group, x.version]), [['london', 1], ['paris', 1]]);
    assert.deepEqual(JSON.parse(v[0]!.metrics), { rmse: 1.5 });
    assert.deepEqual(JSON.parse(readFileSync(join(v[0]!.uri, 'model.json'), 'utf8')), { group: 'london', scale: 6 });

    const again = await runCli('mlp', ['run', 'train', '--local', '--group', 'paris', '--pipeline', join(repo, 'forecast')], { cwd: tmpdir(), env });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /london/);
    assert.deepEqual(versions(dataDir).map((x) => [x.group, x.version]), [['london', 1], ['paris', 1], ['paris', 2]]);
  });

  it('exits 1 with the failing group and its cause; other groups still run', async () => {
    const repo = pipelineRepo({ extra: { 'forecast/fail-paris': '' } });
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const r = await runCli('mlp', ['run', 'train', '--local'], { cwd: join(repo, 'forecast'), env: { MLP_DATA_DIR: dataDir } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ paris: train failed in .*: step 'train' exited with code 3: ValueError: cannot train paris/);
    assert.match(r.stderr, /train failed: 1 of 2 groups failed: paris: step 'train' exited with code 3/);
    assert.deepEqual(versions(dataDir).map((x) => x.group), ['london']);
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
    const r = await runCli('mlp', ['run', 'train', '--local'], { cwd: join(repo, 'forecast'), env: { MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warehouse 'warehouse': table 'towns' does not exist/);
    assert.equal(existsSync(join(repo, 'forecast', 'model')), false);
  });
});
