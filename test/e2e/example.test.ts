/** The README's quick start, as a user would follow it: the bundled example repo, deploy, invoke; and every example pipeline on its own. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { copyExampleRepo } from '../helpers/repo.js';
import { PYTHON_VENV } from '../helpers/services.js';

const execFileAsync = promisify(execFile);

describe('every example pipeline', () => {
  const repo = copyExampleRepo('all');
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
  after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  const pipelines = readdirSync(repo).filter((name) => existsSync(join(repo, name, 'pipeline.yaml')));
  // The first group of each: demand-forecast's cities come from the warehouse, churn-risk has none.
  const groupOf: Record<string, string> = { 'demand-forecast': 'berlin', 'churn-risk': 'default' };

  it('the bundled repo holds both kinds of pipeline', () => {
    assert.deepEqual(pipelines.sort(), ['churn-risk', 'demand-forecast']);
  });

  for (const name of ['churn-risk', 'demand-forecast']) {
    it(`${name}: mlp validate is clean and mlp run train --local trains a model inside its folder`, async () => {
      const cwd = join(repo, name);
      const valid = await runCli('mlp', ['validate'], { cwd });
      assert.equal(valid.code, 0, valid.stdout + valid.stderr);
      const train = await runCli('mlp', ['run', 'train', '--local', '--group', groupOf[name]!], {
        cwd,
        env: { MLP_DATA_DIR: dataDir },
        timeoutMs: 60_000,
      });
      assert.equal(train.code, 0, train.stderr);
      assert.match(train.stderr, new RegExp(`✔ ${groupOf[name]}: train succeeded`));
      const folder = /(\/\S+\/v1)\b/.exec(train.stdout + train.stderr)?.[1];
      assert.ok(folder && existsSync(join(folder, 'model.json')), `no model.json in the version folder: ${train.stdout}${train.stderr}`);
      assert.ok(Object.keys(JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8'))).length > 0);
    });
  }
});

describe('the bundled example', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('trains every city, rolls the first version out through its gates, and answers', async () => {
    d = await startTestDaemon({ repo: copyExampleRepo('all') });
    const env = d.clientEnv();
    assert.equal((await runCli('mlp', ['deploy', 'demand-forecast'], { env })).code, 0);
    const rollout = await eventually(
      async () => {
        const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as {
          pipelines: { name: string; rollout: { phase: string; decisions: { rule: string; verdict: string; reason: string }[] } | null }[];
        };
        const r = s.pipelines.find((p) => p.name === 'demand-forecast')?.rollout;
        return r && ['promoted', 'blocked', 'failed', 'rolled_back'].includes(r.phase) ? r : undefined;
      },
      60_000,
      'the first rollout to end',
    );
    assert.equal(rollout.phase, 'promoted', JSON.stringify(rollout.decisions, null, 1));
    assert.ok(rollout.decisions.some((x) => x.rule === 'data_checks' && x.verdict === 'advance' && /1 suite passed/.test(x.reason)));
    assert.ok(rollout.decisions.some((x) => x.rule === 'integration_tests' && x.verdict === 'advance'));

    const answer = await runCli('mlp', ['invoke', 'demand-forecast', '--group', 'london', '--data', '{"week": 12}'], { env });
    assert.equal(answer.code, 0, answer.stderr);
    const body = JSON.parse(answer.stdout) as { city: string; demand: number };
    assert.equal(body.city, 'london');
    assert.ok(body.demand > 300 && body.demand < 600, `demand ${body.demand}`);
    assert.match(answer.stderr, /HTTP 200 from v1/);

    // The README's boto3 snippet, unchanged, with the router as the SageMaker runtime endpoint.
    const snippet = /```python\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))![1]!;
    const boto3 = await execFileAsync(PYTHON_VENV, ['-c', snippet], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: d.serveUrl,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_DEFAULT_REGION: 'us-east-1',
      },
    });
    const [variant, json] = [boto3.stdout.slice(0, boto3.stdout.indexOf(' ')), boto3.stdout.slice(boto3.stdout.indexOf(' ') + 1)];
    assert.equal(variant, 'v1');
    assert.equal((JSON.parse(json) as { city: string }).city, 'london');
  });
});
