/**
 * The SageMaker runtime protocol on the router's port: InvokeEndpoint as the AWS SDKs send it
 * (`POST /endpoints/<EndpointName>/invocations`, restJson1, SigV4-signed), so that the same client
 * code calls a model on a laptop, in Docker or on SageMaker (docs/serving.md, "The SageMaker
 * form"). This module holds the protocol's rules as pure functions; the router applies them.
 *
 * The SDKs (botocore's RestJSONParser, @smithy/core's loadRestJsonErrorCode) take an error's
 * type from the `x-amzn-ErrorType` header before the body, and its message from `Message`, so
 * every error carries both; the HTTP status is the one SageMaker's model gives the type.
 */
import { SERVE_TOKEN_ENV } from '../../../shared/serve-token.js';
import { bearerProblem, sameSecret } from './bearer.js';

/** An answer of the router's own, in SageMaker's error shape. */
export interface SageMakerError {
  status: number;
  /** Header lines, each ending in CRLF. */
  headers: string;
  json: string;
}

/** The error types of InvokeEndpoint the router gives, with their status. */
const VALIDATION = { status: 400, type: 'ValidationError' };
const UNAVAILABLE = { status: 503, type: 'ServiceUnavailable' };
const INTERNAL = { status: 500, type: 'InternalFailure' };
/** What AWS answers a request signed with an access key it does not know. */
const UNRECOGNIZED = { status: 403, type: 'UnrecognizedClientException' };

/**
 * The router's own error (the status it gives in the mlp form) as SageMaker gives it: bad input,
 * an unknown endpoint or group, a body over the limit → ValidationError (400), as SageMaker
 * reports an oversize body; no live variant → ServiceUnavailable (503); a missing or wrong
 * serving token → UnrecognizedClientException (403). 502 and 504 are the model's failures: see
 * modelFailure.
 */
export function sageMakerError(mlpStatus: number, message: string): SageMakerError {
  const kind = mlpStatus === 401 ? UNRECOGNIZED : mlpStatus === 503 ? UNAVAILABLE : mlpStatus >= 500 ? INTERNAL : VALIDATION;
  return shaped(kind.status, kind.type, { Message: message });
}

/**
 * A model that answered non-2xx (or, with `originalStatus` 502 / 504, could not be reached or did
 * not answer in time) is SageMaker's ModelError: 424, with the model's status and its body as
 * OriginalStatusCode and OriginalMessage, and SageMaker's wording in Message.
 */
export function modelFailure(variant: string, originalStatus: number, originalMessage: string): SageMakerError {
  const side = originalStatus >= 400 && originalStatus < 500 ? 'client' : 'server';
  return shaped(424, 'ModelError', {
    Message: `Received ${side} error (${originalStatus}) from ${variant} with message "${originalMessage}"`,
    OriginalStatusCode: originalStatus,
    OriginalMessage: originalMessage,
  });
}

function shaped(status: number, type: string, body: Record<string, unknown>): SageMakerError {
  const json = JSON.stringify(body);
  return { status, headers: `Content-Type: application/json\r\nx-amzn-ErrorType: ${type}\r\n`, json };
}

const ARCHIVE = '.tar.gz';

/**
 * The group a `TargetModel` names. On a multi-model endpoint TargetModel is the model archive's
 * path under the endpoint's S3 prefix, one archive per model, so a group is named as itself or as
 * its archive: `london` or `london.tar.gz`.
 */
export function targetModelGroup(targetModel: string): string {
  return targetModel.endsWith(ARCHIVE) ? targetModel.slice(0, -ARCHIVE.length) : targetModel;
}

const SIGV4 = 'AWS4-HMAC-SHA256 ';
const CREDENTIAL = 'Credential=';

/**
 * What is wrong with the credentials of a SageMaker-form request when the router has a serving
 * token, or null. A SigV4 client cannot send `Authorization: Bearer`, so the token travels as the
 * access key id, which SigV4 sends in clear in `Credential=<access key id>/<scope>`: as strong as the
 * bearer header (the signature is not checked; the secret key can be anything). A bearer header
 * is accepted too.
 */
export function sigV4Problem(authorization: string | undefined, token: string): string | null {
  if (authorization === undefined || authorization === '') {
    return `this router requires the serving token: use it as the AWS access key id (any secret key), or send 'Authorization: Bearer <token>' (${SERVE_TOKEN_ENV})`;
  }
  if (!authorization.startsWith(SIGV4)) return bearerProblem(authorization, token);
  const at = authorization.indexOf(CREDENTIAL);
  if (at < 0) return "malformed SigV4 Authorization header: no 'Credential='";
  const from = at + CREDENTIAL.length;
  const end = from + token.length;
  const same = sameSecret(authorization, from, token, end) && authorization.charCodeAt(end) === 47; /* / */
  return same
    ? null
    : `the access key id is not the serving token: sign with the one mlpd was started with (${SERVE_TOKEN_ENV}) as the access key id`;
}
