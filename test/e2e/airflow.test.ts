/**
 * `mlp export airflow` against a real Airflow 3 (test/setup/airflow-requirements.txt): the files are
 * deterministic and `--check` catches stale ones; DagBag loads them with the expected tasks,
 * dependencies, schedule, time zone, timeouts and tags; and `dag.test()` runs a DAG end to end: the
 * steps run as SageMaker jobs in Docker on the stand-in, the versions land in a running mlpd, and the
 * rollout the DAG started ends promoted.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ListProcessingJobsCommand, ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BIN, cleanEnv, ROOT, runCli } from '../helpers/cli.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { AIRFLOW_VENV, TEST_IMAGE } from '../helpers/services.js';

const execFileAsync = promisify(execFile);
const AIRFLOW_PYTHON = join(AIRFLOW_VENV, 'bin', 'python');
const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';

const JOB_IMAGE = `mlp-airflow-job:${process.pid}`;

/**
 * The test image plus tar and gzip (mlp's job script unpacks code.tar.gz with them, as every Debian
 * based image can), copied from this machine with the libraries they load; no registry needed.
 */
async function buildJobImage(tag: string) {
  const context = mkdtempSync(join(tmpdir(), 'mlp-job-image-'));
  try {
    // Merged /usr in the image (/lib -> usr/lib): binaries and libraries go under usr/, each library
    // under the name the loader asks for.
    const copy = (from: string, inImage: string) => {
      mkdirSync(dirname(join(context, 'usr', inImage)), { recursive: true });
      cpSync(realpathSync(from), join(context, 'usr', inImage));
    };
    for (const tool of ['tar', 'gzip']) {
      const binary = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      copy(binary, `bin/${tool}`);
      for (const [, name, path] of execFileSync('ldd', [binary], { encoding: 'utf8' }).matchAll(/(\S+\.so[.\d]*) => (\/\S+)/g)) {
        copy(
          path!,
          `${dirname(path!)
            .replace(/^\/usr/, '')
            .replace(/^\//, '')}/${name}`,
        );
      }
    }
    writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY usr/ /usr/\n`);
    execFileSync('docker', ['build', '-q', '-t', tag, context], { stdio: 'pipe' });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

const FORECAST = `pipeline:
  name: forecast
  schedule: "30 2 * * 1-5"
  timezone: Europe/Berlin
  orchestrator: airflow
  groups:
    generate: true
    source: warehouse.cities
    parallelism: 2
  image: ${JOB_IMAGE}
  training:
    timeout_hours: 2
  steps:
    - name: preprocess
      command: python3 preprocess.py
      timeout_minutes: 30
    - name: train
      command: python3 train.py
  deployment:
    integration_tests: python3 it.py
`;
// The candidate's integration test fails while the file it-fails is in the pipeline folder.
const IT_PY = `import pathlib, sys
if pathlib.Path("it-fails").exists():
    print("integration test: the candidate answered nonsense", flush=True)
    sys.exit(1)
`;
// No schedule, no groups, no time zone: triggered by hand, one group, Airflow's default zone.
const ADHOC = `pipeline:
  name: adhoc
  steps:
    - name: train
      command: python3 train.py
`;

function git(repo: string, ...args: string[]) {
  return execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/** A scratch AIRFLOW_HOME with a migrated SQLite metadata database; no webserver, no scheduler. */
async function airflowHome(dags: string): Promise<Record<string, string>> {
  const home = mkdtempSync(join(tmpdir(), 'mlp-airflow-'));
  // dag.test() runs only DAGs Airflow has serialized from its dags folder.
  const env = { AIRFLOW_HOME: home, AIRFLOW__CORE__LOAD_EXAMPLES: 'False', AIRFLOW__CORE__DAGS_FOLDER: dags };
  await execFileAsync(join(AIRFLOW_VENV, 'bin', 'airflow'), ['db', 'migrate'], { env: { ...cleanEnv(), ...env }, timeout: 120_000 });
  return env;
}

/** The last line of a helper script's stdout (Airflow logs to stdout before it). */
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;

interface DagInfo {
  schedule: string | null;
  timetable: string;
  timezone: string;
  catchup: boolean;
  max_active_runs: number;
  tags: string[];
  tasks: Record<
    string,
    { upstream: string[]; mapped: boolean; execution_timeout: number | null; retries: number; max_active_tis_per_dagrun: number | null }
  >;
}

describe('mlp export airflow', () => {
  let repo: string;
  let dags: string;
  let airflow: Record<string, string>;
  const exportDags = (...args: string[]) => runCli('mlp', ['export', 'airflow', ...args], { cwd: repo });

  before(async () => {
    repo = pipelineRepo({
      pipelineYaml: FORECAST,
      extra: {
        'mlp.yaml': `warehouses:\n  warehouse: sqlite:warehouse.db\naws:\n  region: us-east-1\n  role_arn: ${ROLE}\n  bucket: team-mlp\n`,
        'forecast/it.py': IT_PY,
        'adhoc/pipeline.yaml': ADHOC,
        'adhoc/train.py': 'import os, pathlib\npathlib.Path(os.environ["MLP_MODEL_DIR"], "model.json").write_text("{}")\n',
      },
    });
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'pipelines');
    dags = join(repo, 'dags');
    airflow = await airflowHome(dags);
  });
  after(() => {
    rmSync(repo, { recursive: true, force: true });
    if (airflow) rmSync(airflow.AIRFLOW_HOME!, { recursive: true, force: true });
  });

  it('writes one DAG file per pipeline, byte for byte the same when run again, with a header saying where it came from', async () => {
    const first = await exportDags('--all', '-o', 'dags');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, ''); // no notes: forecast is orchestrated by Airflow, adhoc has no schedule
    assert.match(first.stdout, /written\s+dags\/mlp_adhoc\.py\n.*written\s+dags\/mlp_forecast\.py/s);
    const bytes = readFileSync(join(dags, 'mlp_forecast.py'));
    const again = await exportDags('forecast', 'adhoc', '-o', 'dags');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /unchanged dags\/mlp_forecast\.py/);
    assert.deepEqual(readFileSync(join(dags, 'mlp_forecast.py')), bytes);

    const header = bytes.toString().split('\n').slice(0, 4).join('\n');
    assert.match(header, /^# Generated by `mlp export airflow` \(mlp \d+\.\d+\.\d+\): do not edit, regenerate\./);
    assert.match(header, /from forecast\/pipeline\.yaml and mlp\.yaml/);
    assert.match(header, new RegExp(`commit: ${git(repo, 'rev-parse', 'HEAD')}\n`));
    assert.match(header, /Regenerate: mlp export airflow forecast -o dags/);
  });

  it('--check exits 0 when the files are fresh and 1 naming each stale or missing one', async () => {
    assert.equal((await exportDags('--all', '-o', 'dags', '--check')).code, 0);
    const before = readFileSync(join(repo, 'forecast/pipeline.yaml'), 'utf8');
    writeFileSync(
      join(repo, 'forecast/pipeline.yaml'),
      before.replace('timeout_hours: 2', 'timeout_hours: 3').replace('  orchestrator: airflow\n', ''),
    );
    try {
      const stale = await exportDags('--all', '-o', 'dags', '--check', '--json');
      assert.equal(stale.code, 1);
      const report = JSON.parse(stale.stdout) as { ok: boolean; files: { file: string; status: string }[]; notes: string[] };
      // Left to mlpd's scheduler too, the pipeline would be trained twice: the export says so.
      assert.deepEqual(report.notes, [
        "forecast: mlpd schedules it too; once its DAG is deployed, set 'orchestrator: airflow' in forecast/pipeline.yaml so it is not trained twice",
      ]);
      assert.deepEqual(report.files, [
        { pipeline: 'adhoc', file: 'dags/mlp_adhoc.py', status: 'unchanged' },
        { pipeline: 'forecast', file: 'dags/mlp_forecast.py', status: 'stale' },
      ]);
      const plain = await exportDags('forecast', '-o', 'elsewhere', '--check');
      assert.equal(plain.code, 1);
      assert.match(plain.stdout, /missing\s+elsewhere\/mlp_forecast\.py: not generated yet/);
      assert.match(plain.stderr, /1 DAG file is not up to date: run mlp export airflow forecast -o elsewhere/);
    } finally {
      writeFileSync(join(repo, 'forecast/pipeline.yaml'), before);
    }
    assert.equal((await exportDags('--all', '-o', 'dags', '--check')).code, 0);
  });

  it('--all reports the generated file of a pipeline that is gone, and leaves other DAG files alone', async () => {
    writeFileSync(join(dags, 'mlp_retired.py'), readFileSync(join(dags, 'mlp_adhoc.py'), 'utf8').replaceAll('adhoc', 'retired'));
    writeFileSync(join(dags, 'team_etl.py'), '# a DAG the team wrote\n');
    try {
      const r = await exportDags('--all', '-o', 'dags', '--check');
      assert.equal(r.code, 1);
      assert.match(r.stdout, /orphaned {2}dags\/mlp_retired\.py: generated for a pipeline that is no longer in the repo; delete it/);
      assert.doesNotMatch(r.stdout, /team_etl/);
    } finally {
      rmSync(join(dags, 'mlp_retired.py'));
      rmSync(join(dags, 'team_etl.py'));
    }
  });

  it('refuses bad command lines with exit 2', async () => {
    for (const [args, message] of [
      [[], /name at least one pipeline, or pass --all/],
      [['nope'], /no pipeline named 'nope'.*\(pipelines: adhoc, forecast\)/],
      [['forecast', '--all'], /not both/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = await exportDags(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const target = await runCli('mlp', ['export', 'luigi'], { cwd: repo });
    assert.equal(target.code, 2);
    assert.match(target.stderr, /unknown target 'luigi'; the only one is 'airflow'/);
  });

  it("mlp groups lists the groups discover_groups maps the steps over, by the daemon's rule", async () => {
    const r = await runCli('mlp', ['groups', '--pipeline', 'forecast', '--json'], { cwd: repo });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { pipeline: 'forecast', groups: ['london', 'paris'], refused: [] });
    const single = await runCli('mlp', ['groups'], { cwd: join(repo, 'adhoc') });
    assert.equal(single.stdout, 'default\n'); // no groups: block, one group named default
  });

  it("loads in Airflow's DagBag with no import errors: tasks, dependencies, schedule, time zone, timeouts, tags", async () => {
    const { stdout } = await execFileAsync(AIRFLOW_PYTHON, [join(ROOT, 'test/helpers/airflow_dags.py'), dags], {
      env: { ...cleanEnv(), ...airflow },
      timeout: 120_000,
    });
    const bag = lastJson<{ import_errors: Record<string, string>; dags: Record<string, DagInfo> }>(stdout);
    assert.deepEqual(bag.import_errors, {});
    assert.deepEqual(Object.keys(bag.dags), ['mlp_adhoc', 'mlp_forecast']);

    const forecast = bag.dags.mlp_forecast!;
    assert.equal(forecast.schedule, '30 2 * * 1-5');
    assert.equal(forecast.timezone, 'Europe/Berlin');
    assert.equal(forecast.catchup, false);
    assert.equal(forecast.max_active_runs, 1);
    assert.deepEqual(forecast.tags, ['forecast', 'mlp']);
    assert.deepEqual(Object.keys(forecast.tasks).sort(), ['discover_groups', 'per_group.preprocess', 'per_group.train', 'rollout']);
    const { discover_groups: discover, 'per_group.preprocess': preprocess, 'per_group.train': train, rollout } = forecast.tasks;
    assert.deepEqual(discover!.upstream, []);
    assert.deepEqual(preprocess!.upstream, ['discover_groups']);
    assert.deepEqual(train!.upstream, ['discover_groups', 'per_group.preprocess']);
    assert.deepEqual(rollout!.upstream, ['per_group.train']);
    assert.equal(preprocess!.mapped && train!.mapped, true);
    assert.equal(discover!.mapped || rollout!.mapped, false);
    // The step's limit plus 20 minutes: mlp waits 15 minutes past SageMaker's own stop, then the S3 transfers.
    assert.equal(preprocess!.execution_timeout, (30 + 20) * 60);
    assert.equal(train!.execution_timeout, (120 + 20) * 60);
    assert.equal(train!.max_active_tis_per_dagrun, 2);
    assert.equal(train!.retries, 1);
    assert.equal(rollout!.retries, 0);

    const adhoc = bag.dags.mlp_adhoc!;
    assert.equal(adhoc.schedule, null);
    assert.equal(adhoc.timetable, 'NullTimetable');
    assert.equal(adhoc.timezone, 'UTC'); // Airflow's default_timezone, as mlpd's own zone would be
    assert.equal(adhoc.tasks['per_group.train']!.execution_timeout, (4 * 60 + 20) * 60);
  });

  describe('dag.test() against the SageMaker stand-in and a running mlpd', () => {
    let moto: Moto;
    let standin: Standin;
    let d: TestDaemon;
    before(async () => {
      [moto] = await Promise.all([startMoto(), buildJobImage(JOB_IMAGE)]);
      standin = await startStandin(moto);
      d = await startTestDaemon({ repo });
    });
    after(async () => {
      await d?.stop();
      await standin?.stop();
      await moto?.stop();
      execFileSync('docker', ['rmi', '-f', JOB_IMAGE], { stdio: 'ignore' });
    });

    /** Runs the forecast DAG with dag.test(), configured as docs/airflow.md says; the run's outcome and its log. */
    async function testDag() {
      const port = new URL(d.apiUrl).port;
      const env = {
        ...cleanEnv(),
        ...airflow,
        AIRFLOW_VAR_MLP_COMMAND: `${process.execPath} ${BIN.mlp}`,
        AIRFLOW_VAR_MLP_REPO_DIR: repo,
        AIRFLOW_VAR_MLP_DATA_DIR: d.dataDir,
        AIRFLOW_CONN_MLP_DAEMON: JSON.stringify({ conn_type: 'generic', host: '127.0.0.1', port: Number(port), password: d.operatorToken }),
        // AWS reaches mlp only through Airflow's connection: the process itself has no AWS settings.
        AIRFLOW_CONN_AWS_DEFAULT: JSON.stringify({
          conn_type: 'aws',
          login: standin.env.AWS_ACCESS_KEY_ID,
          password: standin.env.AWS_SECRET_ACCESS_KEY,
          extra: { endpoint_url: standin.url, region_name: 'us-east-1' },
        }),
      };
      for (const key of Object.keys(env)) if (key.startsWith('AWS_')) delete (env as Record<string, unknown>)[key];

      let out: { stdout: string; stderr: string };
      try {
        out = await execFileAsync(AIRFLOW_PYTHON, [join(ROOT, 'test/helpers/airflow_test_dag.py'), dags, 'mlp_forecast'], {
          env,
          timeout: 300_000,
          maxBuffer: 64 * 1024 * 1024,
        });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        assert.fail(`dag.test() failed\n${useful(e.stdout)}\n${useful(e.stderr)}\nstand-in:\n${standin.log().slice(-3000)}`);
      }
      const result = lastJson<{ state: string; tasks: { task: string; group: string | null; state: string }[] }>(out.stdout);
      return {
        logs: out.stdout + out.stderr,
        state: result.state,
        tasks: result.tasks.map((t) => `${t.task}${t.group ? `[${t.group}]` : ''}: ${t.state}`),
      };
    }
    const useful = (text = '') =>
      text
        .split('\n')
        .filter((l) => !l.includes('No tasks to run'))
        .join('\n')
        .slice(-12_000);
    const forecastStatus = async () => {
      const status = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
      return (
        JSON.parse(status.stdout) as {
          pipelines: { name: string; current: { groups: Record<string, string> } | null; rollout: { id: number; phase: string } | null }[];
        }
      ).pipelines.find((p) => p.name === 'forecast')!;
    };
    const STEPS_OK = [
      'per_group.preprocess[london]: success',
      'per_group.preprocess[paris]: success',
      'per_group.train[london]: success',
      'per_group.train[paris]: success',
    ];

    it('runs every step per group as SageMaker jobs in Docker, and the rollout it hands to mlpd ends promoted', async () => {
      const { logs, state, tasks } = await testDag();
      assert.equal(state, 'success', useful(logs));
      assert.deepEqual(tasks, ['discover_groups: success', ...STEPS_OK, 'rollout: success']);

      // The jobs really ran on the stand-in (in Docker), named as mlp names them.
      const sagemaker = new SageMakerClient({
        endpoint: standin.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const training = (await sagemaker.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries!.map((j) => j.TrainingJobName!).sort();
      assert.deepEqual(
        training.map((n) => n.replace(/-[a-z0-9]{10}$/, '')),
        ['mlp-forecast-london-train', 'mlp-forecast-paris-train'],
      );
      const processing = (await sagemaker.send(new ListProcessingJobsCommand({}))).ProcessingJobSummaries!.length;
      assert.equal(processing, 2);
      // Train read what preprocess wrote, inside the job's container (job output goes to the stand-in's log, as to CloudWatch).
      assert.match(standin.log(), /trained london on 6 rows/);

      // The task log tells the rollout's story, and mlpd serves what the DAG trained.
      assert.match(logs, /rollout #1: promoted, candidates at 100%/);
      const forecast = await forecastStatus();
      assert.deepEqual(forecast.current?.groups, { london: 'v1', paris: 'v1' });
      assert.equal(forecast.rollout?.phase, 'promoted');
      const answer = await runCli('mlp', ['invoke', 'forecast', '--group', 'paris', '--data', '{"x": 2}'], { env: d.clientEnv() });
      assert.equal(answer.code, 0, answer.stderr);
      assert.equal((JSON.parse(answer.stdout) as { group: string }).group, 'paris');
    });

    it('fails the DAG run when mlpd blocks the rollout, which the task log explains; the live versions stay', async () => {
      writeFileSync(join(repo, 'forecast/it-fails'), '');
      try {
        const { logs, state, tasks } = await testDag();
        assert.equal(state, 'failed', useful(logs));
        assert.deepEqual(tasks, ['discover_groups: success', ...STEPS_OK, 'rollout: failed']);
        assert.match(logs, /forecast: rolling out london v2, paris v2, rollout #2/);
        assert.match(logs, /integration_tests: block: /);
        assert.match(logs, /mlp deploy exited with 1: rollout #2: blocked/);
      } finally {
        rmSync(join(repo, 'forecast/it-fails'));
      }
      const forecast = await forecastStatus();
      assert.deepEqual(forecast.current?.groups, { london: 'v1', paris: 'v1' });
      assert.deepEqual([forecast.rollout?.id, forecast.rollout?.phase], [2, 'blocked']);
    });
  });
});
