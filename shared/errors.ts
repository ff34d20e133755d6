/**
 * The error hierarchy shared by daemon and clients.
 *
 * Every error mlp raises on purpose carries a stable `code`. The API layer turns a code into an
 * error frame, the CLI turns it into an exit code (README.md, "Commands": 1 = the thing checked is wrong,
 * 2 = usage, 3 = cannot reach or authenticate to the daemon). Anything that is not an MlpError is
 * a bug and is reported as `internal`.
 */

export type ErrorCode =
  | 'invalid_config' // a pipeline.yaml / mlp.yaml is wrong (user)
  | 'check_failed' // a step, gate or check said no (user-visible verdict)
  | 'usage' // bad command line (user)
  | 'bad_request' // a malformed API message (user)
  | 'not_found' // unknown pipeline, version, ... (user)
  | 'conflict' // the request does not fit the current state (user)
  | 'forbidden' // the token's role may not do this (user)
  | 'unauthenticated' // no or wrong token (user)
  | 'unreachable' // the daemon (or another service) cannot be reached (operational)
  | 'unavailable' // a dependency is there but refused (operational)
  | 'internal'; // a bug

export class MlpError extends Error {
  readonly code: ErrorCode;
  /** Extra facts for machines (JSON output, error frames); never needed to understand the message. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MlpError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}

export const usageError = (message: string) => new MlpError('usage', message);
export const notFound = (message: string) => new MlpError('not_found', message);
export const conflict = (message: string) => new MlpError('conflict', message);

/** The process exit code a CLI uses for an error (README.md, "Commands"). */
export function exitCodeFor(err: unknown): 1 | 2 | 3 {
  if (!(err instanceof MlpError)) return 1;
  switch (err.code) {
    case 'usage':
      return 2;
    case 'unreachable':
    case 'unauthenticated':
    case 'forbidden': // the token works but may not do this: a credentials problem, like a wrong token
      return 3;
    default:
      return 1;
  }
}

/** A one-line message for any thrown value, without a stack trace for errors raised on purpose. */
export function describeError(err: unknown): string {
  if (err instanceof MlpError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Node's error codes for a service that cannot be reached (refused, reset, no such host, timed out, no route, the
 * connection cut): the AWS clients in the daemon and `mlp invoke` both say "cannot reach" for these.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);
