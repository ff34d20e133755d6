/**
 * A gated pipeline on `deployment.backend: sagemaker` against the SageMaker stand-in (test/e2e/sagemaker-serving*):
 * the image carries the pipeline's serve.py at /opt/ml/code and a `serve` that runs MLP_SERVE_COMMAND there (the
 * serving image contract, docs/serving.md); training runs as a SageMaker training job on the stand-in, so every
 * version's artifact is the job's model.tar.gz. The model's behaviour comes from behaviour.json (gated-pipeline.ts).
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import Docker from 'dockerode';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATED_SERVE_PY, GATED_TRAIN_PY } from './gated-pipeline.js';

/** The gated model server, which also exits at start when its behaviour says `crash` (a model that cannot load). */
const SERVE_PY = GATED_SERVE_PY.replace(
  'class H(BaseHTTPRequestHandler):',
  'if b.get("crash"):\n    raise SystemExit("cannot load the model: " + b["crash"])\nclass H(BaseHTTPRequestHandler):',
);
import { pipelineRepo } from './pipelines.js';
import { DOCKER_SOCKET, TEST_IMAGE } from './services.js';

// The SDK's Node 20 notice is not this test's business (daemon/aws/clients.ts says why).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';
export const BUCKET = 'team-mlp';

/** Integration tests through InvokeEndpoint with TargetVariant, as docs/serving.md shows (boto3). */
export const SAGEMAKER_IT_PY = `import json, os, boto3
rt = boto3.client("sagemaker-runtime")
out = rt.invoke_endpoint(EndpointName=os.environ["MLP_ENDPOINT_NAME"], TargetVariant=os.environ["MLP_VARIANT"],
                         Body=b'{"x": 22}', ContentType="application/json")
answer = json.loads(out["Body"].read())
assert answer["y"] == 44, answer
print("integration ok against", out["InvokedProductionVariant"], flush=True)
`;

export function sagemakerPipelineYaml(image: string, extra = ''): string {
  return `pipeline:
  name: shop
  image: ${image}
  serve:
    timeout_seconds: 5
  deployment:
    backend: sagemaker
    integration_tests: python3 it.py
    rollout:
      step_percent: 25
      step_interval_minutes: 3
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 200
${extra}`;
}

export function sagemakerRepo(image: string): string {
  return pipelineRepo({
    pipelineYaml: sagemakerPipelineYaml(image),
    extra: {
      'mlp.yaml': `warehouses:\n  warehouse: sqlite:warehouse.db\naws:\n  region: us-east-1\n  role_arn: ${ROLE}\n  bucket: ${BUCKET}\n`,
      'forecast/train.py': GATED_TRAIN_PY,
      'forecast/serve.py': SERVE_PY,
      'forecast/it.py': SAGEMAKER_IT_PY,
    },
  });
}

/** The pipeline's image: the test image with serve.py at /opt/ml/code and `serve` running MLP_SERVE_COMMAND there. */
export async function buildPipelineImage(tag: string): Promise<void> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const context = mkdtempSync(join(tmpdir(), 'mlp-sm-image-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY serve.py /opt/ml/code/serve.py\nCOPY serve tar /usr/local/bin/\n`);
    writeFileSync(join(context, 'serve.py'), SERVE_PY);
    writeFileSync(join(context, 'serve'), '#!/bin/sh\ncd /opt/ml/code && exec sh -c "$MLP_SERVE_COMMAND"\n');
    // The test image has no tar, which a training job needs to unpack the pipeline's code (docs/cloud.md).
    writeFileSync(join(context, 'tar'), TAR_PY);
    chmodSync(join(context, 'serve'), 0o755);
    chmodSync(join(context, 'tar'), 0o755);
    const stream = await docker.buildImage(
      { context, src: ['Dockerfile', 'serve.py', 'serve', 'tar'] },
      { t: tag, rm: true, forcerm: true },
    );
    await new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err || failed ? reject(err ?? new Error(`building ${tag} failed: ${failed}`)) : resolve()),
        (event: { error?: string }) => {
          if (event.error) failed = event.error;
        },
      );
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** `tar xzf FILE -C DIR`, all a training job's script asks of tar. */
const TAR_PY = `#!/usr/bin/env python3
import sys, tarfile
args = sys.argv[1:]
assert args[0] == "xzf" and args[2] == "-C", args
tarfile.open(args[1]).extractall(args[3])
`;

/** SDK clients at the stand-in, configured only by its standard variables. */
export function standinClients(env: Record<string, string>) {
  const config = {
    endpoint: env.AWS_ENDPOINT_URL!,
    region: env.AWS_REGION!,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  const sagemaker = new SageMakerClient(config);
  const runtime = new SageMakerRuntimeClient(config);
  return {
    sagemaker,
    /** Variant → CurrentWeight as DescribeEndpoint reads them (missing = 0). */
    async weights(endpoint: string): Promise<Record<string, number>> {
      const d = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
      return Object.fromEntries((d.ProductionVariants ?? []).map((v) => [v.VariantName!, v.CurrentWeight ?? 0]));
    },
    /** One live request; resolves with the HTTP status the client saw and the variant that answered. */
    async invoke(endpoint: string, x: number): Promise<{ status: number; variant: string | undefined }> {
      try {
        const out = await runtime.send(
          new InvokeEndpointCommand({ EndpointName: endpoint, Body: JSON.stringify({ x }), ContentType: 'application/json' }),
        );
        return { status: 200, variant: out.InvokedProductionVariant };
      } catch (err) {
        return { status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0, variant: undefined };
      }
    },
  };
}
