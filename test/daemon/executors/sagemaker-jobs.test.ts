import type { DescribeProcessingJobResponse, DescribeTrainingJobResponse } from '@aws-sdk/client-sagemaker';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CONTAINER_PATHS,
  containerArguments,
  jobName,
  maxRuntimeSeconds,
  processingJobVerdict,
  stepKeys,
  trainingJobVerdict,
  trainingProgress,
} from '../../../daemon/executors/sagemaker-jobs.js';
import { pack } from '../../../daemon/executors/tarball.js';
import { makeRepo } from '../../helpers/repo.js';

// SageMaker's pattern for job names.
const VALID_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

describe('jobName', () => {
  it('says what ran, fits SageMaker and differs every time', () => {
    const a = jobName({ pipeline: 'demand-forecast', group: 'london', step: 'train' });
    const b = jobName({ pipeline: 'demand-forecast', group: 'london', step: 'train' });
    assert.match(a, /^mlp-demand-forecast-london-train-[0-9a-z]{10}$/);
    assert.notEqual(a, b);
  });

  it('shortens long names and replaces what SageMaker does not allow', () => {
    const name = jobName(
      { pipeline: 'a-very-long-pipeline-name-for-the-weekly-demand-forecast', group: 'São Paulo / Centro', step: 'train' },
      'suffix0000',
    );
    assert.ok(name.length <= 63, name);
    assert.match(name, VALID_NAME);
    assert.ok(name.endsWith('-suffix0000'), name);
    assert.match(jobName({ pipeline: 'p', group: 'São Paulo', step: 's' }, 'x'), /^mlp-p-S-o-Paulo-s-x$/);
    // Truncation never leaves a hyphen before the suffix's own.
    for (let n = 40; n < 70; n++) assert.match(jobName({ pipeline: 'p'.repeat(n), group: '--', step: 'train' }, 'abc'), VALID_NAME);
  });
});

describe('stepKeys', () => {
  it('lays a step out under mlp/<pipeline>/runs/<run>/<group>/<step>', () => {
    const keys = stepKeys({ pipeline: 'demand-forecast', runId: 'r-1', group: 'london', step: 'train' });
    assert.deepEqual(keys, {
      prefix: 'mlp/demand-forecast/runs/r-1/london/train',
      code: 'mlp/demand-forecast/runs/r-1/london/train/code.tar.gz',
      input: 'mlp/demand-forecast/runs/r-1/london/train/input',
      model: 'mlp/demand-forecast/runs/r-1/london/train/model',
      output: 'mlp/demand-forecast/runs/r-1/london/train/output',
    });
  });

  it('keeps groups with unusual names apart and inside their own folder', () => {
    const key = (group: string) => stepKeys({ pipeline: 'p', runId: 'r', group, step: 's' }).prefix;
    assert.equal(key('new york/../x'), 'mlp/p/runs/r/new%20york%2F..%2Fx/s');
    assert.notEqual(key('são paulo'), key('s_o paulo'));
    // a whole `..` would be resolved by HTTP clients and tools: mlp/p/runs/s
    assert.equal(key('..'), 'mlp/p/runs/r/%2E%2E/s');
    assert.equal(key('.'), 'mlp/p/runs/r/%2E/s');
  });
});

describe('containerArguments', () => {
  it('keeps every argument within 256 characters, splitting a long command by whole characters', () => {
    const command = `echo ${'é😀'.repeat(300)}`;
    const args = containerArguments('training', command);
    for (const a of args) assert.ok([...a].length <= 256, `${[...a].length} characters`);
    assert.equal(args.slice(2).join(''), command);
    assert.throws(() => containerArguments('training', 'x'.repeat(98 * 256 + 1)), /too long for SageMaker .*put it in a script/);
    assert.equal(containerArguments('processing', 'x'.repeat(98 * 256 + 1)).length, 101);
  });

  it('unpacks the code, runs the command from there with its quotes intact, and sees the contract folders', async () => {
    // The script as a container would run it, with the container's /opt/ml folders moved to a temp folder.
    const root = mkdtempSync(join(tmpdir(), 'mlp-container-'));
    const p = CONTAINER_PATHS.training;
    const codeDir = join(root, 'code');
    mkdirSync(codeDir);
    await pack(makeRepo({ 'train.py': 'weights\n' }), join(codeDir, 'code.tar.gz'));
    const env = {
      MLP_MODEL_DIR: join(root, 'model'),
      MLP_INPUT_DIR: join(root, 'input'),
      MLP_OUTPUT_DIR: join(root, 'output'),
      PATH: process.env.PATH!,
    };
    const long = 'y'.repeat(600);
    const command = `cp train.py "$MLP_MODEL_DIR/model.txt" && printf '%s|%s' "$(basename "$PWD")" '${long} "quoted" $HOME' > "$MLP_OUTPUT_DIR/out.txt"`;
    const [script, ...rest] = containerArguments('training', command);
    const local = script!.replaceAll(p.work, join(root, 'work')).replaceAll(p.codeDir, codeDir);
    execFileSync('/bin/sh', ['-c', local, ...rest], { env });
    assert.equal(readFileSync(join(root, 'model/model.txt'), 'utf8'), 'weights\n');
    assert.equal(readFileSync(join(root, 'output/out.txt'), 'utf8'), `work|${long} "quoted" $HOME`);
  });
});

describe('maxRuntimeSeconds', () => {
  it('rounds up to whole seconds within what SageMaker allows', () => {
    assert.equal(maxRuntimeSeconds('training', 4 * 3600 * 1000), 14_400);
    assert.equal(maxRuntimeSeconds('training', 300), 1);
    assert.equal(maxRuntimeSeconds('training', 60 * 86_400_000), 28 * 86_400);
    assert.equal(maxRuntimeSeconds('processing', 60 * 86_400_000), 7 * 86_400);
  });
});

describe('trainingJobVerdict', () => {
  const job = (d: Partial<DescribeTrainingJobResponse>) =>
    ({ TrainingJobName: 'mlp-j', StoppingCondition: { MaxRuntimeInSeconds: 14_400 }, ...d }) as DescribeTrainingJobResponse;

  it('keeps waiting while the job runs or stops', () => {
    assert.deepEqual(trainingJobVerdict("step 'train'", job({ TrainingJobStatus: 'InProgress' })), { done: false });
    assert.deepEqual(trainingJobVerdict("step 'train'", job({ TrainingJobStatus: 'Stopping' })), { done: false });
  });

  it('hands over the model of a completed job', () => {
    assert.deepEqual(
      trainingJobVerdict(
        "step 'train'",
        job({ TrainingJobStatus: 'Completed', ModelArtifacts: { S3ModelArtifacts: 's3://b/k/model.tar.gz' } }),
      ),
      {
        done: true,
        status: 'succeeded',
        artifactUri: 's3://b/k/model.tar.gz',
      },
    );
  });

  it("surfaces a failed job's FailureReason", () => {
    const failureReason = 'AlgorithmError: ExecuteUserScriptError: Command "python3 train.py" exit code 1: KeyError: city';
    assert.deepEqual(
      trainingJobVerdict("step 'train'", job({ TrainingJobStatus: 'Failed', SecondaryStatus: 'Failed', FailureReason: failureReason })),
      {
        done: true,
        status: 'failed',
        reason: `step 'train' failed on SageMaker (training job mlp-j): ${failureReason}`,
      },
    );
  });

  it('tells a job SageMaker stopped at its time limit from one stopped by hand', () => {
    assert.deepEqual(trainingJobVerdict("step 'train'", job({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'MaxRuntimeExceeded' })), {
      done: true,
      status: 'timed_out',
      reason: "step 'train' ran longer than its limit of 4h and SageMaker stopped training job mlp-j",
    });
    assert.deepEqual(trainingJobVerdict("step 'train'", job({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' })), {
      done: true,
      status: 'cancelled',
      reason: 'training job mlp-j was stopped outside mlp',
    });
  });
});

describe('processingJobVerdict', () => {
  const job = (d: Partial<DescribeProcessingJobResponse>) =>
    ({ ProcessingJobName: 'mlp-p', StoppingCondition: { MaxRuntimeInSeconds: 3600 }, ...d }) as DescribeProcessingJobResponse;

  it('maps the statuses, with the failure reason and exit message of a failed job', () => {
    assert.deepEqual(processingJobVerdict("step 'prep'", job({ ProcessingJobStatus: 'InProgress' })), { done: false });
    assert.deepEqual(processingJobVerdict("step 'prep'", job({ ProcessingJobStatus: 'Completed' })), { done: true, status: 'succeeded' });
    assert.deepEqual(
      processingJobVerdict(
        "step 'prep'",
        job({ ProcessingJobStatus: 'Failed', FailureReason: 'AlgorithmError: See job logs', ExitMessage: 'No such file: data.csv' }),
      ),
      {
        done: true,
        status: 'failed',
        reason: "step 'prep' failed on SageMaker (processing job mlp-p): AlgorithmError: See job logs: No such file: data.csv",
      },
    );
    assert.deepEqual(
      processingJobVerdict("step 'prep'", job({ ProcessingJobStatus: 'Stopped', FailureReason: 'Job exceeded MaxRuntimeInSeconds' })),
      {
        done: true,
        status: 'timed_out',
        reason: "step 'prep' ran longer than its limit of 1h and SageMaker stopped processing job mlp-p",
      },
    );
  });
});

describe('trainingProgress', () => {
  it('shows each secondary status once, and again when its message changes', () => {
    const seen: string[] = [];
    const poll = (transitions: [string, string][], status: string) =>
      trainingProgress(
        {
          SecondaryStatus: status,
          SecondaryStatusTransitions: transitions.map(([Status, StatusMessage]) => ({ Status, StatusMessage })),
        } as DescribeTrainingJobResponse,
        seen,
      );
    assert.deepEqual(poll([['Starting', 'Preparing the instances for training']], 'Starting'), [
      'Starting: Preparing the instances for training',
    ]);
    assert.deepEqual(poll([['Starting', 'Preparing the instances for training']], 'Starting'), []);
    assert.deepEqual(
      poll(
        [
          ['Starting', 'Preparing the instances for training'],
          ['Downloading', 'Downloading the training image'],
        ],
        'Downloading',
      ),
      ['Downloading: Downloading the training image'],
    );
    assert.deepEqual(
      poll(
        [
          ['Starting', 'Preparing the instances for training'],
          ['Downloading', 'Downloading input data'],
        ],
        'Downloading',
      ),
      ['Downloading: Downloading input data'],
    );
  });
});
