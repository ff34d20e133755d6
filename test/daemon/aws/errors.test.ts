/**
 * describeAwsError on the error shapes the SDK produces (the ones moto can produce for real are
 * also covered end to end in test/daemon/executors/cloud.test.ts).
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAwsClients } from '../../../daemon/aws/clients.js';
import { awsCall, describeAwsError, isThrottling } from '../../../daemon/aws/errors.js';
import { MlpError } from '../../../shared/errors.js';

const sagemakerError = (name: string, message: string, httpStatusCode = 400) =>
  new SageMakerServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message });
const onAws = { service: 'sagemaker' as const, region: 'eu-west-1' };

describe('describeAwsError', () => {
  it('says AWS denied the call, with its message, and what to check', () => {
    const err = describeAwsError(
      'CreateTrainingJob',
      sagemakerError(
        'AccessDeniedException',
        'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sagemaker:CreateTrainingJob',
      ),
      onAws,
    );
    assert.ok(err instanceof MlpError);
    assert.equal(
      err.message,
      'AWS denied CreateTrainingJob: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sagemaker:CreateTrainingJob; check the role and credentials',
    );
    assert.deepEqual(err.details, { call: 'CreateTrainingJob', service: 'SageMaker', awsError: 'AccessDeniedException', httpStatus: 400 });
    const s3 = new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'Access Denied',
    });
    assert.equal(
      describeAwsError('PutObject', s3, { service: 's3' }).message,
      'AWS denied PutObject: Access Denied; check the role and credentials',
    );
  });

  it("passes SageMaker's validation message on", () => {
    const err = describeAwsError(
      'CreateTrainingJob',
      sagemakerError('ValidationException', "Value 'ml.x9.huge' at 'resourceConfig.instanceType' failed to satisfy constraint"),
      onAws,
    );
    assert.equal(
      err.message,
      "SageMaker rejected CreateTrainingJob: Value 'ml.x9.huge' at 'resourceConfig.instanceType' failed to satisfy constraint",
    );
  });

  it('explains credentials that are missing, expired or wrong, and a missing region', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.match(
      describeAwsError('DescribeEndpoint', missing, onAws).message,
      /^no AWS credentials for DescribeEndpoint: Could not load credentials from any providers; set AWS_ACCESS_KEY_ID/,
    );
    assert.equal(
      describeAwsError(
        'DescribeEndpoint',
        sagemakerError('ExpiredTokenException', 'The security token included in the request is expired'),
        onAws,
      ).message,
      'AWS rejected the credentials for DescribeEndpoint (ExpiredTokenException): The security token included in the request is expired; refresh or replace them',
    );
    assert.equal(
      describeAwsError('DescribeEndpoint', new Error('Region is missing'), onAws).message,
      'no AWS region for DescribeEndpoint: set aws.region in mlp.yaml or AWS_REGION',
    );
  });

  it('names the endpoint that does not answer, or the service and region without one', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const viaEndpoint = describeAwsError('PutObject', refused, { service: 's3', endpoint: 'http://127.0.0.1:1' });
    assert.equal(viaEndpoint.message, 'cannot reach AWS at http://127.0.0.1:1 for PutObject: connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(viaEndpoint.code, 'unreachable');
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND api.sagemaker.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' });
    assert.equal(
      describeAwsError('DescribeTrainingJob', dns, onAws).message,
      'cannot reach AWS SageMaker in eu-west-1 for DescribeTrainingJob: getaddrinfo ENOTFOUND api.sagemaker.eu-west-1.amazonaws.com',
    );
  });

  it('tells an endpoint that lacks a call from a broken answer of AWS itself', () => {
    // What the SDK makes of moto's HTML error page for a call it does not implement.
    const html = Object.assign(
      new SyntaxError(
        'Unexpected token \'<\', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.',
      ),
      {
        $metadata: { httpStatusCode: 500 },
      },
    );
    assert.equal(
      describeAwsError('UpdateEndpoint', html, { service: 'sagemaker', endpoint: 'http://127.0.0.1:5000' }).message,
      'SageMaker endpoint at http://127.0.0.1:5000 does not implement UpdateEndpoint (HTTP 500)',
    );
    assert.equal(
      describeAwsError('UpdateEndpoint', html, onAws).message,
      'AWS SageMaker answered UpdateEndpoint with HTTP 500 and a body that is not an AWS response',
    );
  });

  it('points at service quotas, and names anything else with its AWS error name', () => {
    assert.match(
      describeAwsError(
        'CreateTrainingJob',
        sagemakerError('ResourceLimitExceeded', "The account-level service limit 'ml.p3.2xlarge for training job usage' is 0 Instances"),
        onAws,
      ).message,
      /^SageMaker refused CreateTrainingJob for a service quota: The account-level .* \(ask for an increase in the Service Quotas console\)$/,
    );
    assert.equal(
      describeAwsError('CreateModel', sagemakerError('ResourceInUse', 'Cannot create already existing model'), onAws).message,
      'SageMaker CreateModel failed (ResourceInUse, HTTP 400): Cannot create already existing model',
    );
  });

  it('recognises throttling by name, by HTTP 429 and by the SDK flag', () => {
    assert.ok(isThrottling(sagemakerError('ThrottlingException', 'Rate exceeded')));
    assert.ok(
      isThrottling(
        new S3ServiceException({
          name: 'SlowDown',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
          message: 'Please reduce your request rate.',
        }),
      ),
    );
    assert.ok(isThrottling(sagemakerError('Whatever', 'x', 429)));
    assert.ok(!isThrottling(sagemakerError('ValidationException', 'x')));
  });
});

describe('awsCall', () => {
  const aws = createAwsClients({ region: 'eu-west-1', env: {}, throttleRetry: { attempts: 3, baseDelayMs: 1 } });

  it('tries a throttled call again and returns its answer', async () => {
    let calls = 0;
    const answer = await awsCall(aws, 'sagemaker', 'DescribeEndpoint', async () => {
      if (++calls < 3) throw sagemakerError('ThrottlingException', 'Rate exceeded');
      return 'InService';
    });
    assert.equal(answer, 'InService');
    assert.equal(calls, 3);
  });

  it('tries a call again that AWS failed on its side (5xx), not one a stand-in does not implement', async () => {
    let calls = 0;
    const answer = await awsCall(aws, 'sagemaker', 'UpdateEndpoint', async () => {
      if (++calls < 2)
        throw Object.assign(new Error('Service Unavailable'), {
          name: 'ServiceUnavailable',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        });
      return 'ok';
    });
    assert.equal(answer, 'ok');
    assert.equal(calls, 2);
    calls = 0;
    await assert.rejects(
      awsCall(aws, 'sagemaker', 'UpdateEndpoint', async () => {
        calls++;
        throw Object.assign(
          new Error('Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'),
          {
            name: 'Error',
            $metadata: { httpStatusCode: 500 },
          },
        );
      }),
      /does not implement UpdateEndpoint|not an AWS response/,
    );
    assert.equal(calls, 1);
  });

  it('does not retry other errors, and leaves an aborted request alone', async () => {
    let calls = 0;
    await assert.rejects(
      awsCall(aws, 'sagemaker', 'CreateTrainingJob', async () => {
        calls++;
        throw sagemakerError('ValidationException', 'bad');
      }),
      (err: Error) => err instanceof MlpError && err.message === 'SageMaker rejected CreateTrainingJob: bad',
    );
    assert.equal(calls, 1);
    const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    await assert.rejects(
      awsCall(aws, 's3', 'PutObject', async () => {
        throw abort;
      }),
      (err) => err === abort,
    );
  });
});
