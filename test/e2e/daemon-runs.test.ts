/** Runs in the daemon: `mlp deploy` queues one, its steps run per group, `mlp tail -f` streams them. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, cleanEnv, runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';

interface RunJson {
  id: string;
  trigger: string;
  status: string;
  reason: string | null;
  steps: { step: string; group: string; status: string }[];
}

async function runsOf(d: TestDaemon, pipeline: string): Promise<RunJson[]> {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pipelines: { name: string; runs: RunJson[] }[] }).pipelines.find((p) => p.name === pipeline)!.runs;
}

describe('runs in the daemon', () => {
  let d: TestDaemon;
  let repo: string;
  before(async () => {
    repo = pipelineRepo();
    // A slow preprocess, so a follower sees lines arrive one by one.
    writeFileSync(
      join(repo, 'forecast/preprocess.py'),
      `import os, time, json, pathlib
g = os.environ["MLP_GROUP"]
for i in range(3):
    print(f"{g} tick {i}", flush=True)
    time.sleep(0.3)
pathlib.Path(os.environ["MLP_OUTPUT_DIR"], "features.json").write_text(json.dumps({"rows": 7}))
`,
    );
    d = await startTestDaemon({ repo });
  });
  after(async () => {
    await d?.stop();
  });

  it('mlp deploy queues a run that trains every group; tail -f shows its lines as they are printed', async () => {
    const tail = spawn(process.execPath, [BIN.mlp, 'tail', 'forecast', '-f'], {
      env: cleanEnv(d.clientEnv()),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    const arrivals: number[] = [];
    tail.stdout.on('data', (b: Buffer) => {
      followed += b.toString();
      arrivals.push(Date.now());
    });
    try {
      // The stored lines come first (the daemon logged loading the pipeline), then live ones.
      await eventually(
        () => (/mlpd \| info: loaded forecast\/pipeline\.yaml/.test(followed) ? true : undefined),
        5000,
        'tail to print stored lines',
      );

      const deploy = await runCli('mlp', ['deploy', 'forecast'], { env: d.clientEnv() });
      assert.equal(deploy.code, 0, deploy.stderr);
      assert.match(deploy.stdout, /forecast: run r-\w+ queued/);

      const done = await eventually(
        async () => {
          const runs = await runsOf(d, 'forecast');
          return runs[0] && !['queued', 'running'].includes(runs[0].status) ? runs[0] : undefined;
        },
        20_000,
        'the run to finish',
      );
      assert.equal(done.status, 'succeeded', done.reason ?? '');
      assert.equal(done.trigger, 'manual');
      assert.deepEqual(done.steps.map((s) => `${s.group}/${s.step}:${s.status}`).sort(), [
        'london/preprocess:succeeded',
        'london/train:succeeded',
        'paris/preprocess:succeeded',
        'paris/train:succeeded',
      ]);

      await eventually(() => (/trained paris on 7 rows/.test(followed) ? true : undefined), 5000, 'the train lines in tail -f');
      assert.match(followed, /london\/preprocess \| london tick 0\n/);
      assert.match(followed, /london\/train \| trained london on 7 rows/);
      assert.match(followed, /mlpd \| info: r-\w+: model version v1 of group london/);
      assert.ok(arrivals.length >= 3, `lines arrived in ${arrivals.length} chunks: they were not streamed`);
    } finally {
      tail.kill('SIGINT');
    }

    const history = await runCli('mlp', ['tail', 'forecast', '--since', '10m'], { env: d.clientEnv() });
    assert.equal(history.code, 0);
    assert.match(history.stdout, /paris\/preprocess \| paris tick 2/);
  });

  it('records a failing run with the group and cause, visible in status', async () => {
    writeFileSync(join(repo, 'forecast/fail-london'), '');
    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env: d.clientEnv() })).code, 0);
    const failed = await eventually(
      async () => {
        const runs = await runsOf(d, 'forecast');
        return runs[0]?.status === 'failed' ? runs[0] : undefined;
      },
      20_000,
      'the failing run',
    );
    assert.match(failed.reason!, /1 of 2 groups failed: london: step 'train' exited with code 3: ValueError: cannot train london/);
    const human = await runCli('mlp', ['status'], { env: d.clientEnv() });
    assert.match(human.stdout, /failed/);
  });

  it('tail names an unknown pipeline', async () => {
    const r = await runCli('mlp', ['tail', 'nope'], { env: d.clientEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no pipeline named 'nope'/);
  });
});
