/**
 * AWS error answers in the two wire protocols the stand-in speaks: the JSON RPC protocol of the control
 * plane (SageMaker, CloudWatch: `__type` in the body) and the REST JSON protocol of SageMaker Runtime
 * (`x-amzn-ErrorType` header). The SDKs turn both into exceptions named after the error code.
 */
import type { ServerResponse } from 'node:http';

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra members of the error body, e.g. ModelError's OriginalStatusCode. */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Control-plane error (awsJson1_0 / awsJson1_1). */
export function sendRpcError(res: ServerResponse, err: AwsError, contentType = 'application/x-amz-json-1.1'): void {
  const body = JSON.stringify({ __type: err.code, message: err.message, ...err.fields });
  res.writeHead(err.status, { 'content-type': contentType, 'x-amzn-requestid': requestId(), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Data-plane error (restJson1), as SageMaker Runtime answers it. */
export function sendRestError(res: ServerResponse, err: AwsError): void {
  const body = JSON.stringify({ ErrorCode: err.code, Message: err.message, message: err.message, ...err.fields });
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'x-amzn-errortype': err.code,
    'x-amzn-requestid': requestId(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function requestId(): string {
  return crypto.randomUUID();
}
