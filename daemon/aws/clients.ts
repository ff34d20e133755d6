/**
 * The AWS clients mlp uses, configured the standard way: region from mlp.yaml or AWS_REGION,
 * endpoint from AWS_ENDPOINT_URL (so moto or LocalStack need nothing else), credentials from the
 * SDK's default chain (environment, profile, SSO, instance role).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';

export interface AwsClients {
  sagemaker: SageMakerClient;
  s3: S3Client;
  /** The SageMaker serving platform reads its variants' metrics here. */
  cloudwatch: CloudWatchClient;
  /** The region if it was configured here; undefined = the SDK resolves it (profile) or fails. */
  region: string | undefined;
  /** A custom endpoint per service (moto, LocalStack), undefined for AWS itself; named in error messages. */
  endpoints: { sagemaker: string | undefined; s3: string | undefined; cloudwatch: string | undefined };
  /** How often a throttled call is tried again, on top of the SDK's own quick retries. */
  throttleRetry: ThrottleRetry;
}

export interface ThrottleRetry {
  attempts: number;
  /** The first wait; each further wait doubles. */
  baseDelayMs: number;
}

export const DEFAULT_THROTTLE_RETRY: ThrottleRetry = { attempts: 4, baseDelayMs: 2_000 };

export function createAwsClients(
  opts: {
    region?: string;
    /** Where AWS_REGION and AWS_ENDPOINT_URL* are read; credentials always come from the default chain. */
    env?: NodeJS.ProcessEnv;
    /** The SDK's attempts per call (its default is 3, or AWS_MAX_ATTEMPTS). */
    maxAttempts?: number;
    throttleRetry?: ThrottleRetry;
  } = {},
): AwsClients {
  const env = opts.env ?? process.env;
  quietNodeVersionWarning();
  const region = opts.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  // The SDK reads AWS_ENDPOINT_URL(_<SERVICE>) itself; it is read here too because S3 needs path-style
  // addressing on a custom endpoint and error messages should name the endpoint that did not answer.
  const endpoints = {
    sagemaker: env.AWS_ENDPOINT_URL_SAGEMAKER || env.AWS_ENDPOINT_URL || undefined,
    s3: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
    cloudwatch: env.AWS_ENDPOINT_URL_CLOUDWATCH || env.AWS_ENDPOINT_URL || undefined,
  };
  const common = {
    logger: SILENT,
    ...(region ? { region } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  };
  return {
    sagemaker: new SageMakerClient({ ...common, ...(endpoints.sagemaker ? { endpoint: endpoints.sagemaker } : {}) }),
    s3: new S3Client({ ...common, ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}) }),
    cloudwatch: new CloudWatchClient({ ...common, ...(endpoints.cloudwatch ? { endpoint: endpoints.cloudwatch } : {}) }),
    region,
    endpoints,
    throttleRetry: opts.throttleRetry ?? DEFAULT_THROTTLE_RETRY,
  };
}

/**
 * The SDK logs nothing by default except, straight to the console, "An error was encountered in a
 * non-retryable streaming request." before the error itself, which mlp reports in its own words.
 */
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * On Node 20 the SDK prints a multi-line NodeVersionSupportWarning (releases after early 2027 need
 * Node 22) into every daemon and CLI run. mlp supports Node 20 and pins its SDK version, so the
 * warning is not actionable for the people reading those logs; it is turned off unless the
 * environment already says otherwise (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false shows it).
 */
function quietNodeVersionWarning() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
