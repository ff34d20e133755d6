import { DescribeTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createAwsClients } from '../../../daemon/aws/clients.js';
import { awsCall } from '../../../daemon/aws/errors.js';
import { ROOT } from '../../helpers/cli.js';

describe('createAwsClients', () => {
  it('takes the endpoint from AWS_ENDPOINT_URL, with path-style S3 for stand-ins like moto', async () => {
    const aws = createAwsClients({
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', AWS_REGION: 'eu-west-1' },
    });
    assert.deepEqual(aws.endpoints, {
      sagemaker: 'http://127.0.0.1:4566',
      s3: 'http://127.0.0.1:9000',
      cloudwatch: 'http://127.0.0.1:4566',
    });
    assert.equal(aws.region, 'eu-west-1');
    assert.equal((await aws.s3.config.endpoint!()).port, 9000);
    assert.equal(aws.s3.config.forcePathStyle, true);
    const onAws = createAwsClients({ region: 'eu-west-1', env: {} });
    assert.deepEqual(onAws.endpoints, { sagemaker: undefined, s3: undefined, cloudwatch: undefined });
    assert.equal(onAws.s3.config.forcePathStyle, false);
  });

  it('reports a missing region in words a user can act on', async (t) => {
    const aws = createAwsClients({ env: {} });
    // The SDK still looks in the environment and the AWS config file; only without either is the region missing.
    if (
      process.env.AWS_REGION ||
      process.env.AWS_DEFAULT_REGION ||
      existsSync(process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws/config'))
    ) {
      return t.skip('a region is configured on this machine');
    }
    await assert.rejects(
      awsCall(aws, 'sagemaker', 'DescribeTrainingJob', () => aws.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'x' }))),
      /^MlpError: no AWS region for DescribeTrainingJob: set aws\.region in mlp\.yaml or AWS_REGION$/,
    );
  });

  it("keeps the SDK's Node 22 notice out of the output, unless asked for", () => {
    const script = "const { createAwsClients } = await import('./daemon/aws/clients.ts'); createAwsClients({ region: 'us-east-1' });";
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const run = (extra: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...env, ...extra },
        encoding: 'utf8',
      });
    const quiet = run({});
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /NodeVersionSupportWarning/);
    if (Number(process.versions.node.split('.')[0]) < 22) {
      assert.match(run({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' }).stderr, /NodeVersionSupportWarning/);
    }
  });
});
