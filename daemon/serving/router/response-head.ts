/**
 * The response heads the router writes to clients, and its own answers in the form the client
 * speaks: `{"error": message}` for the mlp form, SageMaker's error shapes (sagemaker-runtime.ts) for
 * InvokeEndpoint. Heads are strings: the head and a small body go out in one latin1/utf8 write.
 */
import { reasonPhrase } from './http1.js';
import { modelFailure, sageMakerError } from './sagemaker-runtime.js';

/** An answer the router makes itself: its status, header lines (Content-Type first) and JSON body. */
export interface OwnAnswer {
  status: number;
  /** Header lines, each ending in CRLF. */
  headers: string;
  json: string;
}

const JSON_TYPE = 'Content-Type: application/json\r\n';

/**
 * A response head: `statusText` is the status line after the version (`200 OK`); `fields` and
 * `tail` are header lines ending in CRLF (the tail carries what this router adds: variant, inference
 * id, Connection).
 */
export function responseHead(statusText: string, fields: string, tail: string): string {
  return `HTTP/1.1 ${statusText}\r\n${fields}${tail}\r\n`;
}

/** A whole answer of the router's own, head and body, for one write in utf8. */
export function ownResponse(answer: OwnAnswer, tail: string): string {
  return (
    responseHead(
      `${answer.status} ${reasonPhrase(answer.status)}`,
      `${answer.headers}Content-Length: ${Buffer.byteLength(answer.json)}\r\n`,
      tail,
    ) + answer.json
  );
}

/** The router's own error about a request (`extraHeaders`: Allow, WWW-Authenticate). */
export function errorAnswer(status: number, message: string, sageMaker: boolean, extraHeaders = ''): OwnAnswer {
  if (sageMaker) return sageMakerError(status, message);
  return { status, headers: JSON_TYPE + extraHeaders, json: JSON.stringify({ error: message }) };
}

/**
 * A variant failed: the router could not reach it or it did not answer in time (`status` 502 / 504,
 * `message` the router's), or, for a SageMaker client, it answered non-2xx (`status` and `message`
 * its own), which SageMaker clients get as a ModelError.
 */
export function variantFailureAnswer(variant: string, status: number, message: string, sageMaker: boolean): OwnAnswer {
  if (sageMaker) return modelFailure(variant, status, message);
  return { status, headers: JSON_TYPE, json: JSON.stringify({ error: message }) };
}

/** The health check's answer. */
export function jsonAnswer(status: number, json: string): OwnAnswer {
  return { status, headers: JSON_TYPE, json };
}
