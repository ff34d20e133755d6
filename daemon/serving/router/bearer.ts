/**
 * The router's check of the serving token (MLP_SERVE_TOKEN): `Authorization: Bearer <token>`.
 * It runs on every invocation when a token is set, so it reads the header in place and makes
 * nothing; the comparison takes the same time whatever the client sent, so timing says nothing
 * about how much of a guess was right.
 */
import { SERVE_TOKEN_ENV } from '../../../shared/serve-token.js';

/** Sent with every 401, as RFC 6750 asks. */
export const BEARER_CHALLENGE = 'WWW-Authenticate: Bearer realm="mlp serving"\r\n';

const BEARER = 'bearer';

/** What is wrong with an Authorization value (already trimmed; undefined when absent), or null when it carries `token`. */
export function bearerProblem(value: string | undefined, token: string): string | null {
  if (value === undefined || value === '') {
    return `this router requires the serving token: send 'Authorization: Bearer <token>' (mlp invoke sends ${SERVE_TOKEN_ENV})`;
  }
  let i = 0;
  for (; i < BEARER.length; i++) if ((value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) break;
  const sp = value.charCodeAt(i);
  if (i < BEARER.length || (sp !== 32 && sp !== 9)) return "malformed Authorization header: expected 'Bearer <token>'";
  while (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9) i++;
  return sameSecret(value, i, token) ? null : `wrong serving token: send the one mlpd was started with (${SERVE_TOKEN_ENV})`;
}

/**
 * Whether `given[from..end)` is exactly `expected`, in time that depends only on
 * `expected.length`: every character is compared, with no early exit. Past the end of `given`
 * charCodeAt is NaN, which `^` treats as 0, so a shorter guess differs from a token of printable
 * characters.
 */
export function sameSecret(given: string, from: number, expected: string, end = given.length): boolean {
  let diff = (end - from) ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= given.charCodeAt(from + i) ^ expected.charCodeAt(i);
  return diff === 0;
}
