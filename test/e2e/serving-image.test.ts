/**
 * One serving image for the docker backend and SageMaker (docs/serving.md, "The serving image"): the
 * Dockerfile and `serve` script the docs show, built here (FROM this machine's Python image: nothing can
 * be pulled), serve the same model the same way under mlpd's docker backend and as a SageMaker endpoint on
 * the stand-in, with the Environment a SageMaker Model gets (servingImageEnv).
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { artifactDir } from '../../daemon/runs/artifacts.js';
import { servingImageEnv } from '../../daemon/serving/servers/servers.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { modelTarball, removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { DOCKER_SOCKET, TEST_IMAGE } from '../helpers/services.js';

const IMAGE = `mlp-serving-image-test:${process.pid}`;
const PIPELINE = 'serving-image';
const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';
const REQUESTS = [1, 2.5, 40];

/** The fenced block of `lang` in the docs' section on the serving image. */
function fromDocs(lang: string): string {
  const doc = readFileSync(join(ROOT, 'docs/serving.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The serving image (docker and SageMaker)'));
  const block = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section.slice(0, section.indexOf('\n## ', 1)));
  assert.ok(block, `docs/serving.md shows no ${lang} block in "The serving image"`);
  return block[1]!;
}

/** A model server by the docs' rule: HOST:PORT when set, else 0.0.0.0:8080. It says where it runs from. */
const SERVE_PY = `import json, os, pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
model = json.loads((pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.json").read_text())

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.reply(200 if self.path == "/ping" else 404, {"status": "ok"})
    def do_POST(self):
        x = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))["x"]
        self.reply(200, {"y": x * (model["scale"] + 1), "pipeline": os.environ["MLP_PIPELINE"], "group": os.environ["MLP_GROUP"],
                         "variant": os.environ["MLP_VARIANT"], "cwd": os.getcwd(), "model_dir": os.environ["SM_MODEL_DIR"]})
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass

HOST = os.environ.get("HOST") or ("127.0.0.1" if "PORT" in os.environ else "0.0.0.0")
ThreadingHTTPServer((HOST, int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
`;

let repo: string;
let d: TestDaemon | undefined;
let moto: Moto | undefined;
let standin: Standin | undefined;

before(async () => {
  repo = pipelineRepo({
    pipelineYaml: `pipeline:\n  name: ${PIPELINE}\n  image: ${IMAGE}\n  training:\n    backend: local\n  deployment:\n    backend: docker\n`,
    extra: {
      'forecast/Dockerfile': fromDocs('dockerfile').replace(/^FROM .*$/m, `FROM ${TEST_IMAGE}`),
      'forecast/serve': fromDocs('sh'),
      'forecast/serve.py': SERVE_PY,
    },
  });
  chmodSync(join(repo, 'forecast/serve'), 0o755);
  await buildImage(join(repo, 'forecast'), IMAGE);
});

after(async () => {
  await d?.stop();
  await standin?.stop();
  await moto?.stop();
  await removeImage(IMAGE);
});

describe('the serving image', () => {
  const docker: Record<number, unknown> = {};

  it('serves under the docker backend from the code in the image, nothing but the model mounted', async () => {
    d = await startTestDaemon({ repo });
    const env = d.clientEnv();
    assert.equal((await runCli('mlp', ['deploy', PIPELINE], { env })).code, 0);
    await eventually(
      async () => {
        const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as {
          pipelines: { variants: { state: string; backend: string }[] }[];
        };
        const v = s.pipelines[0]!.variants[0];
        return v?.state === 'live' && v.backend === 'docker' ? v : undefined;
      },
      150_000,
      'the container to serve',
    );
    for (const x of REQUESTS) {
      const r = await runCli('mlp', ['invoke', PIPELINE, '--data', JSON.stringify({ x })], { env });
      assert.equal(r.code, 0, r.stderr);
      docker[x] = JSON.parse(r.stdout);
    }
    assert.deepEqual(docker[2.5], {
      y: 2.5,
      pipeline: PIPELINE,
      group: 'default',
      variant: 'v1',
      cwd: '/opt/ml/code',
      model_dir: '/opt/ml/model',
    });

    const containers = await new Docker({ socketPath: DOCKER_SOCKET }).listContainers({
      filters: { label: [`mlp.pipeline=${PIPELINE}`, 'mlp.server'] },
    });
    assert.equal(containers.length, 1);
    assert.deepEqual(
      containers[0]!.Mounts.map((m) => m.Destination),
      ['/opt/ml/model'],
      'the code comes from the image, as on SageMaker',
    );
    const log = await runCli('mlp', ['tail', PIPELINE], { env });
    assert.doesNotMatch(log.stdout + log.stderr, /has no \/opt\/ml\/code/);
  });

  it('serves the same answers as a SageMaker endpoint, with the Environment a Model gets', async () => {
    moto = await startMoto();
    standin = await startStandin(moto, { transitionMs: 100 });
    const clients = { region: 'us-east-1', endpoint: standin.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const sagemaker = new SageMakerClient(clients);
    const s3 = new S3Client({ ...clients, forcePathStyle: true });
    const runtime = new SageMakerRuntimeClient(clients);
    // The version the daemon trained and serves above, as model.tar.gz.
    const version = artifactDir(d!.dataDir, PIPELINE, 'default', 1);
    const files = Object.fromEntries(readdirSync(version).map((f) => [f, readFileSync(join(version, f), 'utf8')]));
    await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'v1/model.tar.gz', Body: modelTarball(files) }));
    const environment = servingImageEnv({ pipeline: PIPELINE, group: 'default', variant: 'v1', command: 'python3 serve.py' });
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: 'serving-image-v1',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: 's3://artifacts/v1/model.tar.gz', Environment: environment },
      }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'serving-image-1',
        ProductionVariants: [
          {
            VariantName: 'v1',
            ModelName: 'serving-image-v1',
            InitialVariantWeight: 1,
            InstanceType: 'ml.m5.large',
            InitialInstanceCount: 1,
          },
        ],
      }),
    );
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'serving-image', EndpointConfigName: 'serving-image-1' }));
    await eventually(
      async () => {
        const e = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'serving-image' }));
        if (e.EndpointStatus === 'Failed') throw new Error(`${e.FailureReason}\n${standin!.log()}`);
        return e.EndpointStatus === 'InService' ? e : undefined;
      },
      60_000,
      'the endpoint to be InService',
    );
    for (const x of REQUESTS) {
      const out = await runtime.send(
        new InvokeEndpointCommand({ EndpointName: 'serving-image', ContentType: 'application/json', Body: JSON.stringify({ x }) }),
      );
      assert.equal(out.InvokedProductionVariant, 'v1');
      assert.deepEqual(
        JSON.parse(Buffer.from(out.Body!).toString('utf8')),
        docker[x],
        `x=${x}: the same answer as under the docker backend`,
      );
    }
  });
});

/** `docker build` of the pipeline folder, as a team would build the image it pushes. */
async function buildImage(context: string, tag: string): Promise<void> {
  const engine = new Docker({ socketPath: DOCKER_SOCKET });
  const stream = await engine.buildImage({ context, src: readdirSync(context) }, { t: tag, rm: true, forcerm: true });
  await new Promise<void>((resolve, reject) => {
    let failed: string | undefined;
    engine.modem.followProgress(
      stream,
      (err: Error | null) => (err || failed ? reject(err ?? new Error(`building ${tag} failed: ${failed}`)) : resolve()),
      (event: { error?: string }) => {
        if (event.error) failed = event.error;
      },
    );
  });
}
