/**
 * Where steps run and where models serve are separate settings: a pipeline that trains in Docker
 * and serves from a local process, through a real `mlpd start` and the real Docker engine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { TEST_IMAGE } from '../helpers/services.js';

interface Status {
  pipelines: {
    name: string;
    backends: { training: string; serving: string };
    sagemaker: unknown;
    variants: { state: string; backend: string; variant: string; port: number | null }[];
    runs: { status: string; steps: { step: string; executor: string; status: string }[] }[];
  }[];
}

describe('training and serving backends', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('trains in Docker and serves from a local process when training.backend is docker and deployment.backend is local', async () => {
    const repo = pipelineRepo({
      cities: ['lima'],
      pipelineYaml: `pipeline:
  name: forecast
  image: ${TEST_IMAGE}
  groups:
    generate: true
    source: warehouse.cities
  training:
    backend: docker
  deployment:
    backend: local
`,
    });
    d = await startTestDaemon({ repo });
    const env = d.clientEnv();
    const status = async () => JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as Status;
    assert.deepEqual((await status()).pipelines[0]!.backends, { training: 'docker', serving: 'local' });
    assert.equal((await status()).pipelines[0]!.sagemaker, null);

    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env })).code, 0);
    const live = await eventually(
      async () => {
        const p = (await status()).pipelines[0]!;
        return p.variants[0]?.state === 'live' ? p : undefined;
      },
      150_000,
      'the model to serve',
    );

    // The step ran in a container: the executor says so, and it saw SageMaker's paths, not the data dir.
    assert.deepEqual(
      live.runs[0]!.steps.map((s) => [s.step, s.executor, s.status]),
      [['train', 'docker', 'succeeded']],
    );
    const logs = await runCli('mlp', ['tail', 'forecast'], { env });
    const stepEnv = JSON.parse(/env (\{.*\})/.exec(logs.stdout)![1]!) as Record<string, string>;
    assert.equal(stepEnv.MLP_MODEL_DIR, '/opt/ml/model');

    // The model serves from a process of the daemon, not from a container (whose processes descend from the container runtime).
    const variant = live.variants[0]!;
    assert.equal(variant.backend, 'local');
    assert.ok(descendsFrom(listenerPid(variant.port!), d.proc.pid!), 'the model server is a child of mlpd');
    const inv = await runCli('mlp', ['invoke', 'forecast', '--data', '{"x": 2}'], { env });
    assert.equal(inv.code, 0, inv.stderr);
    assert.deepEqual(JSON.parse(inv.stdout), { y: 2, group: 'lima', model: 'v1' });

    const one = await runCli('mlp', ['status', 'forecast'], { env });
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /forecast: steps run in Docker containers; models serve from processes behind mlpd's router/);
    const unknown = await runCli('mlp', ['status', 'forcast'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no pipeline named 'forcast' in force \(known: forecast\)/);
  });
});

/** The process listening on a loopback TCP port. */
function listenerPid(port: number): number {
  const ss = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(ss.stdout);
  assert.ok(pid, `nothing listens on port ${port}: ${ss.stdout}${ss.stderr}`);
  return Number(pid[1]);
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid; p > 1;) {
    if (p === ancestor) return true;
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return false;
}
