/**
 * One InvokeEndpoint call for `mlp invoke` on a pipeline served from SageMaker, with the standard AWS
 * configuration (credentials chain, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME / AWS_ENDPOINT_URL, region from
 * mlp.yaml else AWS_REGION or the profile). Loaded only for such pipelines: other commands never load the SDK.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { MlpError, NETWORK_ERROR_CODES, type ErrorCode } from '../../shared/errors.js';
import type { SageMakerTarget } from './sagemaker-target.js';

/** An answer as `mlp invoke` prints it, whichever way it went. */
export interface InvokeAnswer {
  /** The model's HTTP status (a ModelError's OriginalStatusCode). */
  status: number;
  variant: string | null;
  text: string;
  /** Set when SageMaker answered ModelError: the model itself failed. */
  modelError?: boolean;
}

const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

export async function invokeEndpoint(
  target: SageMakerTarget,
  body: Buffer,
  contentType: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<InvokeAnswer> {
  const client = new SageMakerRuntimeClient({ logger: SILENT, ...(target.region ? { region: target.region } : {}) });
  try {
    const out = await client.send(
      new InvokeEndpointCommand({
        EndpointName: target.endpoint,
        Body: new Uint8Array(body),
        ContentType: contentType,
        ...(target.variant ? { TargetVariant: target.variant } : {}),
      }),
    );
    return {
      status: out.$metadata.httpStatusCode ?? 200,
      variant: out.InvokedProductionVariant ?? null,
      text: Buffer.from(out.Body ?? new Uint8Array()).toString('utf8'),
    };
  } catch (err) {
    const e = err as {
      name?: string;
      message?: string;
      code?: string;
      OriginalStatusCode?: number;
      OriginalMessage?: string;
      $metadata?: { httpStatusCode?: number };
    };
    // The model answered, with an error: its status and message are the answer.
    if (e.name === 'ModelError')
      return {
        status: e.OriginalStatusCode ?? 424,
        variant: target.variant ?? null,
        text: e.OriginalMessage ?? e.message ?? '',
        modelError: true,
      };
    throw invokeError(target, e, runtimeEndpoint(env));
  } finally {
    client.destroy();
  }
}

/** AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, else AWS_ENDPOINT_URL, as the SDK reads them: named in errors. */
function runtimeEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME || env.AWS_ENDPOINT_URL || undefined;
}

/** One sentence for what went wrong before any model answered; exit codes as for the router (3: cannot reach or authenticate). */
function invokeError(
  target: SageMakerTarget,
  e: { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } },
  endpointUrl: string | undefined,
): MlpError {
  const name = e.name ?? 'Error';
  const message = (e.message ?? '').trim();
  const on = `InvokeEndpoint on ${target.endpoint}`;
  const fail = (code: ErrorCode, text: string) =>
    new MlpError(code, text, { cause: e, details: { awsError: name, endpoint: target.endpoint } });
  if ((e.code && NETWORK_ERROR_CODES.has(e.code)) || name === 'TimeoutError') {
    const where = endpointUrl ? `SageMaker Runtime at ${endpointUrl}` : `SageMaker Runtime${target.region ? ` in ${target.region}` : ''}`;
    return fail('unreachable', `cannot reach ${where} for ${on}: ${message || e.code || name}`);
  }
  if (name === 'CredentialsProviderError') {
    return fail(
      'unauthenticated',
      `no AWS credentials for ${on}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where an IAM role is available`,
    );
  }
  if (/region is missing/i.test(message))
    return fail('invalid_config', `no AWS region for ${on}: set aws.region in mlp.yaml or AWS_REGION`);
  if (BAD_CREDENTIALS.has(name))
    return fail('unauthenticated', `AWS rejected the credentials for ${on} (${name}): ${message}; refresh or replace them`);
  if (DENIED.has(name))
    return fail('forbidden', `AWS denied ${on}: ${message || name}; the credentials need sagemaker:InvokeEndpoint on it`);
  if (name === 'ValidationError' && /not found/i.test(message)) {
    return fail('not_found', `no endpoint ${target.endpoint}: has the pipeline gone live on SageMaker? ('mlp status' shows its rollout)`);
  }
  if (name === 'ValidationError') return fail('check_failed', `SageMaker refused ${on}: ${message}`);
  const status = e.$metadata?.httpStatusCode;
  return fail(
    'unavailable',
    `SageMaker ${on} failed (${name}${status !== undefined ? `, HTTP ${status}` : ''}): ${message || 'no message'}`,
  );
}
