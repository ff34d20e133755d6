/**
 * What an AWS error means for the person running mlp: one sentence naming the call and the cause,
 * and whether waiting would help (throttling is retried here, everything else is reported).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MlpError, NETWORK_ERROR_CODES } from '../../shared/errors.js';
import type { AwsClients } from './clients.js';

export type AwsService = 'sagemaker' | 's3' | 'cloudwatch';
const SERVICE_LABEL: Record<AwsService, string> = { sagemaker: 'SageMaker', s3: 'S3', cloudwatch: 'CloudWatch' };

export interface AwsCallContext {
  service: AwsService;
  /** Custom endpoint (moto, LocalStack) if one is configured. */
  endpoint?: string | undefined;
  region?: string | undefined;
}

/** The shape the SDK gives its errors; every field may be missing (network errors carry only `code`). */
interface SdkErrorFields {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  BucketName?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const BAD_CREDENTIALS_NAMES = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
]);
const DENIED_NAMES = new Set(['AccessDenied', 'AccessDeniedException', 'Forbidden', 'AllAccessDisabled']);

const fields = (err: unknown): SdkErrorFields =>
  typeof err === 'object' && err !== null ? (err as SdkErrorFields) : { message: String(err) };
const errorName = (e: SdkErrorFields) => e.Code ?? e.name ?? 'Error';

export function isThrottling(err: unknown): boolean {
  const e = fields(err);
  return THROTTLING_NAMES.has(errorName(e)) || e.$metadata?.httpStatusCode === 429 || e.$retryable?.throttling === true;
}

/**
 * Worth trying again: throttling, or AWS failing on its side (5xx: InternalFailure, ServiceUnavailable). An
 * answer that is not an AWS response at all (a stand-in's HTML page for a call it lacks) never gets better.
 */
export function isTransient(err: unknown): boolean {
  if (isThrottling(err)) return true;
  const e = fields(err);
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500 && !isForeignAnswer(e);
}

const isForeignAnswer = (e: SdkErrorFields) => /deserialization error/i.test(e.message ?? '') || errorName(e) === 'SyntaxError';

/** A request given up because its AbortSignal fired: the caller is cancelling, this is no AWS failure. */
export function isAbort(err: unknown): boolean {
  const name = fields(err).name;
  return name === 'AbortError';
}

/** One clear message for a failed AWS call, as an MlpError carrying the AWS facts in `details`. */
export function describeAwsError(call: string, err: unknown, ctx: AwsCallContext): MlpError {
  const e = fields(err);
  const name = errorName(e);
  const status = e.$metadata?.httpStatusCode;
  const message = (e.message ?? '').trim();
  const service = SERVICE_LABEL[ctx.service];
  const where = ctx.endpoint ? `AWS at ${ctx.endpoint}` : `AWS ${service}${ctx.region ? ` in ${ctx.region}` : ''}`;
  const details = { call, service, awsError: name, ...(status !== undefined ? { httpStatus: status } : {}) };
  const fail = (code: 'unreachable' | 'unavailable', text: string) => new MlpError(code, text, { cause: err, details });

  if ((e.code && NETWORK_ERROR_CODES.has(e.code)) || name === 'TimeoutError' || name === 'RequestTimeout') {
    return fail('unreachable', `cannot reach ${where} for ${call}: ${message || e.code || name}`);
  }
  if (name === 'CredentialsProviderError') {
    return fail(
      'unavailable',
      `no AWS credentials for ${call}: ${message}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where an IAM role is available`,
    );
  }
  if (/region is missing/i.test(message)) {
    return fail('unavailable', `no AWS region for ${call}: set aws.region in mlp.yaml or AWS_REGION`);
  }
  if (BAD_CREDENTIALS_NAMES.has(name)) {
    return fail('unavailable', `AWS rejected the credentials for ${call} (${name}): ${message}; refresh or replace them`);
  }
  if (DENIED_NAMES.has(name) || (ctx.service === 's3' && status === 403)) {
    return fail('unavailable', `AWS denied ${call}: ${message || name}; check the role and credentials`);
  }
  if (isThrottling(err)) {
    return fail('unavailable', `AWS kept throttling ${call} (${name}), retries did not help: ${message}`);
  }
  if (isTransient(err)) {
    return fail(
      'unavailable',
      `${service} kept failing ${call} on its side (${name}, HTTP ${status}), retries did not help: ${message || 'no message'}`,
    );
  }
  // An answer that is not an AWS response at all: moto and other stand-ins answer calls they do not
  // implement with an HTML error page, which the SDK reports as a "Deserialization error".
  if (status !== undefined && status >= 500 && isForeignAnswer(e)) {
    return fail(
      'unavailable',
      ctx.endpoint
        ? `${service} endpoint at ${ctx.endpoint} does not implement ${call} (HTTP ${status})`
        : `AWS ${service} answered ${call} with HTTP ${status} and a body that is not an AWS response`,
    );
  }
  if (name === 'ValidationException') return fail('unavailable', `${service} rejected ${call}: ${message}`);
  if (name === 'ResourceLimitExceeded') {
    return fail(
      'unavailable',
      `${service} refused ${call} for a service quota: ${message} (ask for an increase in the Service Quotas console)`,
    );
  }
  if (name === 'NoSuchBucket') {
    return fail('unavailable', `S3 bucket ${e.BucketName ? `${e.BucketName} ` : ''}does not exist (${call}); check aws.bucket in mlp.yaml`);
  }
  const http = status !== undefined ? `, HTTP ${status}` : '';
  return fail('unavailable', `${service} ${call} failed (${name}${http}): ${message || 'no message'}`);
}

/**
 * Runs one AWS call: a throttled call, or one AWS failed on its side (5xx), is tried again with a doubling wait (clients.throttleRetry),
 * any other error becomes describeAwsError's MlpError. An aborted request is rethrown untouched.
 */
export async function awsCall<T>(
  aws: AwsClients,
  service: AwsService,
  call: string,
  send: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const ctx: AwsCallContext = { service, endpoint: aws.endpoints[service], region: aws.region };
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (isAbort(err)) throw err;
      if (!isTransient(err) || attempt >= aws.throttleRetry.attempts) throw describeAwsError(call, err, ctx);
      await sleep(aws.throttleRetry.baseDelayMs * 2 ** (attempt - 1), undefined, signal ? { signal } : undefined);
    }
  }
}
