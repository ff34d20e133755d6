import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import { createDockerExecutor, LABEL, pipelineImageTag } from '../../../daemon/executors/docker.js';
import type { StepIO, StepSpec } from '../../../daemon/executors/executor.js';
import { MlpError } from '../../../shared/errors.js';
import { eventually } from '../../helpers/daemon.js';
import { DOCKER_SOCKET, TEST_IMAGE } from '../../helpers/services.js';

const docker = new Docker({ socketPath: DOCKER_SOCKET });
const scratch = mkdtempSync(join(tmpdir(), 'mlp-docker-'));
const builtImages: string[] = [];
after(async () => {
  rmSync(scratch, { recursive: true, force: true });
  for (const tag of builtImages)
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
});

/** A pipeline folder holding `files`, fresh step folders, and a run id no other test uses. */
function spec(command: string, overrides: Partial<StepSpec> = {}, files: Record<string, string> = {}): StepSpec {
  const base = mkdtempSync(join(scratch, 'step-'));
  const dirs = { model: join(base, 'model'), input: join(base, 'input'), output: join(base, 'output') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  const pipelineDir = join(base, 'forecast');
  mkdirSync(pipelineDir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(pipelineDir, name), text);
  return {
    pipeline: 'forecast',
    pipelineDir,
    step: 'train',
    command,
    group: 'london',
    runId: `r-${randomUUID()}`,
    timeoutMs: 60_000,
    isTrain: true,
    dirs,
    image: TEST_IMAGE,
    instanceType: 'ml.m5.large',
    env: { EXTRA: 'yes' },
    ...overrides,
  };
}

function collect(signal = new AbortController().signal): { lines: string[]; io: StepIO } {
  const lines: string[] = [];
  return { lines, io: { onLine: (stream, line) => lines.push(`${stream}: ${line}`), signal } };
}

async function containersOf(runId: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.run}=${runId}`] } });
}

const TRAIN_PY = `import json, os, pathlib, sys
names = ["MLP_GROUP", "MLP_RUN_ID", "MLP_MODEL_DIR", "SM_MODEL_DIR", "MLP_INPUT_DIR", "MLP_OUTPUT_DIR", "EXTRA"]
print("env " + json.dumps({k: os.environ.get(k) for k in names}))
print("cwd " + os.getcwd())
print("inputs " + ",".join(sorted(os.listdir(os.environ["MLP_INPUT_DIR"]))))
print("a warning", file=sys.stderr)
pathlib.Path(os.environ["MLP_MODEL_DIR"], "model.json").write_text(json.dumps({"group": os.environ["MLP_GROUP"]}))
`;

describe('docker executor', { concurrency: true }, () => {
  const executor = createDockerExecutor({ socketPath: DOCKER_SOCKET, killGraceMs: 1_000 });

  it('runs the step in the pipeline folder with the SageMaker paths and the environment contract', async () => {
    const s = spec('python3 train.py', {}, { 'train.py': TRAIN_PY });
    writeFileSync(join(s.dirs.input, 'features.json'), '{}');
    const { lines, io } = collect();
    const outcome = await executor.run(s, io);
    assert.equal(outcome.status, 'succeeded', lines.join('\n'));
    assert.equal(outcome.exitCode, 0);

    const env = JSON.parse(lines.find((l) => l.startsWith('stdout: env '))!.slice('stdout: env '.length));
    assert.deepEqual(env, {
      MLP_GROUP: 'london',
      MLP_RUN_ID: s.runId,
      MLP_MODEL_DIR: '/opt/ml/model',
      SM_MODEL_DIR: '/opt/ml/model',
      MLP_INPUT_DIR: '/opt/ml/input/data',
      MLP_OUTPUT_DIR: '/opt/ml/output/data',
      EXTRA: 'yes',
    });
    assert.ok(lines.includes('stdout: cwd /opt/ml/code'), lines.join('\n'));
    assert.ok(lines.includes('stdout: inputs features.json'), lines.join('\n'));
    assert.ok(lines.includes('stderr: a warning'), lines.join('\n'));

    const model = join(s.dirs.model, 'model.json');
    assert.deepEqual(JSON.parse(readFileSync(model, 'utf8')), { group: 'london' });
    assert.equal(statSync(model).uid, process.getuid!(), 'the model belongs to the daemon user');
    assert.deepEqual(await containersOf(s.runId), [], 'the container is removed');
  });

  it('fails with the exit code and the last line printed', async () => {
    const s = spec('echo loading; echo "ValueError: no rows for london" >&2; exit 3');
    const outcome = await executor.run(s, collect().io);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.reason, "step 'train' exited with code 3: ValueError: no rows for london");
    // The engine copies the two streams separately: lines printed together can arrive in either order.
    assert.deepEqual([...outcome.tail].sort(), ['ValueError: no rows for london', 'loading']);
    assert.deepEqual(await containersOf(s.runId), []);
  });

  it("quotes the last line when it came well after the other stream's last line", async () => {
    const s = spec('echo "warning: few rows" >&2; sleep 0.5; echo "no model written"; exit 1');
    const outcome = await executor.run(s, collect().io);
    assert.equal(outcome.reason, "step 'train' exited with code 1: no model written");
  });

  it('stops a step that runs past its limit and removes its container', async () => {
    const s = spec('echo started; sleep 60', { timeoutMs: 4_000 });
    const started = Date.now();
    const outcome = await executor.run(s, collect().io);
    assert.equal(outcome.status, 'timed_out');
    assert.match(outcome.reason!, /ran longer than its limit of 4s and was stopped/);
    assert.ok(Date.now() - started < 20_000, `stopped after ${Date.now() - started} ms`);
    assert.deepEqual(await containersOf(s.runId), []);
  });

  it('cancels on abort and removes the container', async () => {
    const s = spec('echo started; sleep 60');
    const controller = new AbortController();
    const lines: string[] = [];
    const outcome = await executor.run(s, {
      signal: controller.signal,
      onLine: (_stream, line) => {
        lines.push(line);
        if (line === 'started') controller.abort();
      },
    });
    assert.equal(outcome.status, 'cancelled');
    assert.deepEqual(lines, ['started']);
    assert.deepEqual(await containersOf(s.runId), []);
  });

  it('leaves no connection to the engine open when a step is stopped before its container starts', async () => {
    // The engine never ends the attach stream of a container that did not start; an executor that kept
    // it held the test file open after its last test on a first run, where creating containers is slow.
    // A proxy in front of the real engine cancels the step while the executor attaches, and keeps that
    // connection to watch it.
    const socketPath = join(scratch, 'engine-proxy.sock');
    const controller = new AbortController();
    let attach: Socket | undefined;
    const proxy = createServer((client) => {
      const engine = connect(DOCKER_SOCKET);
      client.on('data', (chunk: Buffer) => {
        if (!attach && /^POST \S*\/containers\/\S+\/attach\?/.test(chunk.toString('latin1'))) {
          attach = client;
          controller.abort();
        }
        engine.write(chunk);
      });
      engine.pipe(client);
      client.on('close', () => engine.destroy());
      engine.on('close', () => client.destroy());
      client.on('error', () => undefined);
      engine.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => proxy.listen(socketPath, resolve));
    try {
      const s = spec('sleep 60');
      const outcome = await createDockerExecutor({ socketPath, killGraceMs: 1_000 }).run(s, {
        onLine: () => undefined,
        signal: controller.signal,
      });
      assert.equal(outcome.status, 'cancelled');
      assert.ok(attach, 'the executor attached to the container');
      await eventually(() => (attach!.destroyed ? true : undefined), 5_000, 'the attach connection to close');
      assert.deepEqual(await containersOf(s.runId), []);
    } finally {
      proxy.close();
    }
  });

  it('builds the image from the pipeline Dockerfile when no image is set', async () => {
    const s = spec(
      'cat /opt/baked.txt; ls',
      { pipeline: 'docker-test-build', image: undefined },
      {
        Dockerfile: `FROM ${TEST_IMAGE}\nCOPY baked.txt /opt/baked.txt\n`,
        'baked.txt': 'baked into the image\n',
        'train.py': '',
      },
    );
    builtImages.push(pipelineImageTag(s.pipeline));
    const { lines, io } = collect();
    const outcome = await executor.run(s, io);
    assert.equal(outcome.status, 'succeeded', lines.join('\n'));
    assert.ok(
      lines.some((l) => /COPY baked.txt/.test(l)),
      `build output is streamed:\n${lines.join('\n')}`,
    );
    assert.ok(lines.includes('stdout: baked into the image'), lines.join('\n'));
    assert.ok(lines.includes('stdout: train.py'), 'the pipeline folder is the working directory');
    const image = await docker.getImage('mlp/docker-test-build:latest').inspect();
    assert.equal(image.Config.Labels?.[LABEL.pipeline], 'docker-test-build');

    writeFileSync(join(s.pipelineDir, 'baked.txt'), 'baked again\n');
    const again = collect();
    assert.equal((await executor.run({ ...s, runId: `r-${randomUUID()}` }, again.io)).status, 'succeeded', again.lines.join('\n'));
    assert.ok(again.lines.includes('stdout: baked again'), again.lines.join('\n'));
    const images = await docker.listImages({ filters: { label: [`${LABEL.pipeline}=docker-test-build`] } });
    assert.equal(images.length, 1, 'the image of the previous build is pruned');
  });

  it('fails the step with the build error when the Dockerfile does not build', async () => {
    const s = spec(
      'true',
      { pipeline: 'docker-test-badbuild', image: undefined },
      {
        // The label marks the build's intermediate container, which must not be left behind.
        Dockerfile: `FROM ${TEST_IMAGE}\nLABEL mlp.test=badbuild\nRUN echo "pip: no matching distribution" && exit 2\n`,
      },
    );
    builtImages.push(pipelineImageTag(s.pipeline));
    const { lines, io } = collect();
    const outcome = await executor.run(s, io);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, null);
    assert.match(
      outcome.reason!,
      /^building the image of pipeline 'docker-test-badbuild' from its Dockerfile failed: .*returned a non-zero code: 2/,
    );
    assert.ok(lines.includes('stdout: pip: no matching distribution'), lines.join('\n'));
    assert.ok(outcome.tail.includes('pip: no matching distribution'));
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: ['mlp.test=badbuild'] } }), []);
  });

  it('says how to provide an image when there is neither `image:` nor a Dockerfile', async () => {
    const s = spec('true', { image: undefined });
    const outcome = await executor.run(s, collect().io);
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.reason!,
      /pipeline 'forecast' has no container image for --docker: set `image:` in its pipeline.yaml or add a Dockerfile to /,
    );
  });

  it('fails the step when the image is neither here nor pullable', async () => {
    const outcome = await executor.run(spec('true', { image: 'mlp-test-no-such-image:1' }), collect().io);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason!, /^the image 'mlp-test-no-such-image:1' is not on this machine and could not be pulled: /);
  });

  it('reports an engine it cannot reach as a clear error, not a stack trace', async () => {
    const dead = createDockerExecutor({ socketPath: join(scratch, 'no-docker.sock') });
    await assert.rejects(dead.run(spec('true'), collect().io), (err: unknown) => {
      assert.ok(err instanceof MlpError);
      assert.equal(err.code, 'unavailable');
      assert.equal(
        err.message,
        `cannot reach the Docker engine at ${join(scratch, 'no-docker.sock')}: connect ENOENT ${join(scratch, 'no-docker.sock')}; is dockerd running?`,
      );
      return true;
    });
  });
});

describe('docker executor in a test run', () => {
  it('labels its containers with the run and the test file, so npm test can find those left behind', async () => {
    const saved = { MLP_TEST_RUN: process.env.MLP_TEST_RUN, MLP_TEST_FILE: process.env.MLP_TEST_FILE };
    process.env.MLP_TEST_RUN = 'run-under-test';
    process.env.MLP_TEST_FILE = 'test/daemon/executors/docker.test.ts';
    try {
      const s = spec('echo started; sleep 30');
      const controller = new AbortController();
      let labels: Record<string, string> | undefined;
      const outcome = await createDockerExecutor({ socketPath: DOCKER_SOCKET, killGraceMs: 1_000 }).run(s, {
        signal: controller.signal,
        onLine: (_stream, line) => {
          if (line !== 'started') return;
          void containersOf(s.runId).then(([c]) => {
            labels = c?.Labels;
            controller.abort();
          });
        },
      });
      assert.equal(outcome.status, 'cancelled');
      assert.equal(labels?.['mlp.test-run'], 'run-under-test');
      assert.equal(labels?.['mlp.test-file'], 'test/daemon/executors/docker.test.ts');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
